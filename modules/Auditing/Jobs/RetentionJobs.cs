using System.ComponentModel;
using Hangfire;
using Hangfire.Server;
using Monolith.Auditing.Retention;
using Monolith.Tenancy;

namespace Monolith.Auditing.Jobs;

/// <summary>
/// The retention policy on Hangfire: a recurring daily job runs the global part and starts a pass over every live tenant
/// (<see cref="RetentionPasses"/>); the pass is worked off by one batch job after another (at most
/// <see cref="RetentionOptions.TenantsPerBatch"/> tenants each), so the queue never holds a job per tenant and other jobs
/// are not stuck behind ten thousand of them. A batch job that dies midway is retried by Hangfire (on any instance) and
/// takes only the tenants the pass has not finished; every task removes in committed batches, so a tenant cut short
/// continues where it stopped.
/// </summary>
internal sealed class RetentionJobs(RetentionRunner runner, RetentionPasses passes, TenantContext tenants, IBackgroundJobClient jobs)
{
    public const string RecurringId = "retention";

    [DisplayName("Retention: daily pass")]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task FanOutAsync(PerformContext? context, CancellationToken ct)
    {
        await runner.RunGlobalAsync(dryRun: false, RetentionSources.Schedule, context?.BackgroundJob.Id, ct);
        var pass = await passes.StartAsync(RetentionSources.Schedule, context?.BackgroundJob.Id, ct);
        jobs.Enqueue<RetentionJobs>(j => j.ContinueAsync(pass, null, CancellationToken.None));
    }

    /// <summary>The next batch of a pass; enqueues the one after it while tenants are left.</summary>
    [DisplayName("Retention: next batch of pass {0}")]
    public async Task ContinueAsync(Guid pass, PerformContext? context, CancellationToken ct)
    {
        var batch = await passes.RunBatchAsync(pass, context?.BackgroundJob.Id, ct);
        if (batch.More)
        {
            jobs.Enqueue<RetentionJobs>(j => j.ContinueAsync(pass, null, CancellationToken.None));
        }
    }

    /// <summary>
    /// One tenant's retention (jobs enqueued by earlier versions, one per tenant, and operators). The identifier is shown in
    /// the dashboard; the tenant itself comes from the job's context.
    /// </summary>
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
