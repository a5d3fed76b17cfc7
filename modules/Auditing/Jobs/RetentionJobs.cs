using System.ComponentModel;
using Hangfire;
using Hangfire.Server;
using Monolith.Auditing.Retention;
using Monolith.Tenancy;
using Monolith.Tenancy.Contracts;

namespace Monolith.Auditing.Jobs;

/// <summary>
/// The retention policy on Hangfire: a recurring daily job runs the global part and fans out one job per live
/// tenant. Each tenant's job runs with that tenant's context (restored by <see cref="TenantJobFilter"/>), is
/// retried with backoff when it fails (every task is idempotent and removes in committed batches, so a retry
/// continues where the failed attempt stopped), and never overlaps another run for the same tenant.
/// </summary>
internal sealed class RetentionJobs(RetentionRunner runner, ITenantDirectory directory, TenantContext tenants, IBackgroundJobClient jobs)
{
    public const string RecurringId = "retention";

    [DisplayName("Retention: daily fan-out")]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task FanOutAsync(PerformContext? context, CancellationToken ct)
    {
        await runner.RunGlobalAsync(dryRun: false, RetentionSources.Schedule, context?.BackgroundJob.Id, ct);
        foreach (var tenant in await directory.ListLiveAsync(ct))
        {
            using (tenants.Enter(tenant))
            {
                jobs.Enqueue<RetentionJobs>(j => j.RunTenantAsync(tenant.Identifier, null, CancellationToken.None));
            }
        }
    }

    /// <summary>One tenant's retention. The identifier is shown in the dashboard; the tenant itself comes from the job's context.</summary>
    [DisplayName("Retention for tenant {0}")]
    public async Task RunTenantAsync(string tenant, PerformContext? context, CancellationToken ct)
    {
        var current = tenants.Required;
        if (!string.Equals(current.Identifier, tenant, StringComparison.Ordinal))
        {
            throw new InvalidOperationException("The job's tenant context does not match its argument.");
        }

        await runner.RunTenantAsync(current, dryRun: false, RetentionSources.Schedule, context?.BackgroundJob.Id, ct);
    }
}
