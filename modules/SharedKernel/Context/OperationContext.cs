namespace Monolith.SharedKernel.Context;

/// <summary>
/// Who is doing the current unit of work and on behalf of which request. Flows with async calls
/// (AsyncLocal), is set by the HTTP pipeline, and is set explicitly by the CLI and by jobs.
/// The database session of a tenant connection carries these values so that triggers (the audit
/// trail) can read them.
/// </summary>
public sealed class OperationContext
{
    private static readonly AsyncLocal<OperationContext?> CurrentHolder = new();

    public static OperationContext? Current => CurrentHolder.Value;

    public string? RequestId { get; init; }

    /// <summary>"user", "platform", "cli", "job" or "anonymous".</summary>
    public string ActorKind { get; set; } = ActorKinds.Anonymous;

    public Guid? ActorId { get; set; }

    public string? ActorEmail { get; set; }

    /// <summary>A name for a non-user actor, e.g. the job's name or "cli".</summary>
    public string? ActorName { get; set; }

    public static IDisposable Begin(OperationContext context)
    {
        var previous = CurrentHolder.Value;
        CurrentHolder.Value = context;
        return new Restore(previous);
    }

    private sealed class Restore(OperationContext? previous) : IDisposable
    {
        public void Dispose() => CurrentHolder.Value = previous;
    }
}

public static class ActorKinds
{
    public const string Anonymous = "anonymous";
    public const string User = "user";
    public const string Platform = "platform";
    public const string Cli = "cli";
    public const string Job = "job";
}
