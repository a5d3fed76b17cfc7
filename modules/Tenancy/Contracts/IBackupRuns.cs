namespace Monolith.Tenancy.Contracts;

/// <summary>
/// A backup (<c>Kind</c> "backup") or a restore ("restore") as the platform job list shows it. <c>Tenant</c> is the
/// tenant backed up, or the identifier restored into; <c>Status</c> is running, completed or failed.
/// </summary>
public sealed record BackupRun(
    Guid Id,
    string Kind,
    string Status,
    string Tenant,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    string? Reason,
    long? SizeBytes,
    Guid? BackupId,
    string? Error);

/// <summary>The backups' and restores' runs, for the platform job list (which pages them together with other jobs' runs).</summary>
public interface IBackupRuns
{
    /// <summary>Newest first (created, then id, descending), only those before <paramref name="before"/> when given; <paramref name="kind"/> "backup", "restore" or null for both.</summary>
    Task<IReadOnlyList<BackupRun>> ListAsync(string? kind, (DateTimeOffset CreatedAt, Guid Id)? before, int limit, CancellationToken ct);
}
