using Hangfire;
using Microsoft.Extensions.Options;
using Monolith.Tenancy.Backups;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Idempotency;

namespace Monolith.Tenancy.Provisioning;

/// <summary>
/// The daily purge: every deleted tenant whose grace has ended is removed, one by one, each under its identifier's lock
/// and re-checked there (an undelete since the list was read wins). Idempotent: a purge interrupted midway leaves the
/// tenant <c>deleting</c>, which the next run (or a create of that identifier) finishes. Each purge takes a final backup
/// first, so a run purges at most <see cref="TenancyOptions.PurgeBatchSize"/> tenants and, when more are due, enqueues the
/// next run (a run that dies midway is retried by Hangfire and finds what is left). Backups past
/// <c>Backups__RetentionDays</c>, and platform idempotency keys past their 24 hours, are removed at the end of each run.
/// </summary>
internal sealed class TenantPurge(
    TenantCatalog catalog,
    TenantProvisioner provisioner,
    TenantBackups backups,
    PlatformDatabase platform,
    TimeProvider clock,
    IOptions<TenancyOptions> options,
    IBackgroundJobClient? jobs)
{
    public const string JobId = "tenant-purge";

    /// <summary>
    /// Purges what is due now; returns the identifiers it purged. One run at a time across instances; a failed run is
    /// retried (what it already purged is gone, the rest is found again).
    /// </summary>
    [DisableConcurrentExecution(timeoutInSeconds: 600)]
    [AutomaticRetry(Attempts = 3)]
    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var purged = new List<string>();
        var batch = Math.Max(1, options.Value.PurgeBatchSize);
        var due = await catalog.ListDueForPurgeAsync(now, batch + 1, ct);
        foreach (var tenant in due.Take(batch))
        {
            var result = await provisioner.PurgeAsync(tenant.Identifier, archive: true, ct, onlyIfDueBy: now);
            if (result is { Status: ProvisioningStatus.Done, Tenant.Status: TenantStatus.Deleting })
            {
                purged.Add(tenant.Identifier);
            }
        }

        await backups.RemoveExpiredAsync(ct);
        await IdempotencyFilter.RemoveExpiredPlatformKeysAsync(platform, ct);
        // Only after progress: a tenant whose purge keeps failing must not keep a chain of runs going; the schedule retries it.
        if (due.Count > batch && purged.Count > 0)
        {
            jobs?.Enqueue<TenantPurge>(purge => purge.RunAsync(CancellationToken.None));
        }

        return purged;
    }
}
