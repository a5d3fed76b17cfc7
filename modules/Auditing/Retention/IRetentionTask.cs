using Monolith.Tenancy.Catalog;

namespace Monolith.Auditing.Retention;

/// <summary>What one retention task removed (or, in a dry run, would remove).</summary>
public sealed record RetentionOutcome(string Task, string? Tenant, long Removed, DateTimeOffset Cutoff);

/// <summary>
/// One kind of data with a retention policy (audit records, log events). The retention job runs every
/// registered task: <see cref="RunGlobalAsync"/> once per run, then <see cref="RunForTenantAsync"/> for each
/// live tenant with that tenant's policy. Implementations never remove a row younger than the cutoff and
/// are idempotent, so a crashed run can simply be run again.
/// </summary>
public interface IRetentionTask
{
    string Name { get; }

    /// <summary>Work that is not per tenant (for example dropping whole log partitions older than every policy).</summary>
    Task<RetentionOutcome?> RunGlobalAsync(DateTimeOffset now, IReadOnlyList<TenantInfo> tenants, bool dryRun, CancellationToken ct);

    Task<RetentionOutcome> RunForTenantAsync(TenantInfo tenant, DateTimeOffset now, bool dryRun, CancellationToken ct);
}
