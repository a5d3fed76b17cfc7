using Hangfire;
using Microsoft.Extensions.Options;
using Monolith.Tenancy.Jobs;

namespace Monolith.Tenancy.Provisioning;

/// <summary>Tenancy's recurring work: the daily purge of deleted tenants past their grace (<c>Tenancy__PurgeSchedule</c>).</summary>
internal sealed class TenancyRecurringJobs(IOptions<TenancyOptions> options) : IRecurringJobSchedule
{
    public void Register(IRecurringJobManager recurring) =>
        recurring.AddOrUpdate<TenantPurge>(
            TenantPurge.JobId,
            purge => purge.RunAsync(CancellationToken.None),
            options.Value.PurgeSchedule,
            new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
}
