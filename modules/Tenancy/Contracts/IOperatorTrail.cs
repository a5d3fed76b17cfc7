namespace Monolith.Tenancy.Contracts;

/// <summary>Platform operations other modules carry out, as the operator trail names them (CONTRACT §9).</summary>
public static class PlatformOperations
{
    public const string RetentionRun = "retention.run";
}

/// <summary>
/// The operator trail for platform work done outside Tenancy (a retention run): one record per operation, with the
/// current actor (platform key, CLI or job) and request id. Its detail must hold no secret.
/// </summary>
public interface IOperatorTrail
{
    Task RecordAsync(string action, string? tenant, Guid? tenantId, bool succeeded, string detail, CancellationToken ct);
}
