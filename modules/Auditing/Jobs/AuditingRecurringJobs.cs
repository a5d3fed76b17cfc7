using Hangfire;
using Microsoft.Extensions.Options;
using Monolith.Auditing.Retention;
using Monolith.Auditing.Trail;
using Monolith.Tenancy.Jobs;

namespace Monolith.Auditing.Jobs;

/// <summary>The daily retention fan-out and the audit trail's anchoring, on their configured schedules.</summary>
internal sealed class AuditingRecurringJobs(IOptions<RetentionOptions> retention, IOptions<AuditingOptions> auditing) : IRecurringJobSchedule
{
    public void Register(IRecurringJobManager recurring)
    {
        recurring.AddOrUpdate<RetentionJobs>(
            RetentionJobs.RecurringId,
            jobs => jobs.FanOutAsync(null, CancellationToken.None),
            retention.Value.Schedule,
            new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
        recurring.AddOrUpdate<AuditAnchoring>(
            AuditAnchoring.RecurringId,
            anchoring => anchoring.AnchorAllAsync(CancellationToken.None),
            auditing.Value.AnchorCron,
            new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
    }
}
