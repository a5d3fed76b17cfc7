namespace Monolith.Toggles.Contracts;

/// <summary>Why a toggle evaluated as it did (in the spirit of OpenFeature's evaluation details).</summary>
public enum ToggleReason
{
    /// <summary>The tenant's definition decided (its <c>enabled</c>, or its percentage rollout).</summary>
    Default,

    /// <summary>The project's override decided.</summary>
    Override,

    /// <summary>No definition with that key: the tenant's default for undefined toggles.</summary>
    Undefined,

    /// <summary>The toggles could not be read (no tenant in scope, database unreachable): disabled. In-process only.</summary>
    Error,
}

/// <summary>The outcome of one evaluation. <see cref="Variant"/> is <c>"rollout"</c> when a percentage rollout decided.</summary>
public readonly record struct ToggleEvaluation(string Key, bool Enabled, ToggleReason Reason, string? Variant = null);

/// <summary>
/// Evaluates feature toggles of the tenant in scope (<c>TenantContext</c>), from a per-instance cache that
/// changes on any instance invalidate within a second. Never throws: a failure evaluates as disabled with
/// <see cref="ToggleReason.Error"/>.
/// </summary>
public interface IFeatureToggles
{
    /// <summary>Evaluates <paramref name="key"/> for a project (its override first), or tenant-wide when <paramref name="projectId"/> is null.</summary>
    ValueTask<ToggleEvaluation> EvaluateAsync(string key, Guid? projectId = null, CancellationToken ct = default);
}

/// <summary>
/// The project that Microsoft.FeatureManagement's gates evaluate for when no route value names one
/// (jobs, in-process callers). Flows with async calls; leaving restores what was there before.
/// </summary>
public static class ToggleScope
{
    private static readonly AsyncLocal<Guid?> CurrentProjectHolder = new();

    public static Guid? CurrentProject => CurrentProjectHolder.Value;

    public static IDisposable EnterProject(Guid? projectId)
    {
        var previous = CurrentProjectHolder.Value;
        CurrentProjectHolder.Value = projectId;
        return new Restore(previous);
    }

    private sealed class Restore(Guid? previous) : IDisposable
    {
        public void Dispose() => CurrentProjectHolder.Value = previous;
    }
}
