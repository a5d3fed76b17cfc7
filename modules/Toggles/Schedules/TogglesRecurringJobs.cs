using Hangfire;
using Microsoft.Extensions.Options;
using Monolith.Tenancy.Jobs;

namespace Monolith.Toggles.Schedules;

/// <summary>The scheduled-change job, every <see cref="TogglesOptions.ScheduleSeconds"/> seconds.</summary>
internal sealed class TogglesRecurringJobs(IOptions<TogglesOptions> options) : IRecurringJobSchedule
{
    public void Register(IRecurringJobManager recurring) =>
        recurring.AddOrUpdate<ToggleScheduler>(
            ToggleScheduler.RecurringId,
            scheduler => scheduler.RunOnceAsync(CancellationToken.None),
            Cron(options.Value.ScheduleSeconds),
            new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });

    /// <summary>Under a minute: a cron with seconds (Hangfire 1.8 reads six fields); otherwise whole minutes.</summary>
    internal static string Cron(int seconds) => Math.Max(1, seconds) switch
    {
        < 60 and var s => $"*/{s} * * * * *",
        var s => $"*/{Math.Min(59, s / 60)} * * * *",
    };
}
