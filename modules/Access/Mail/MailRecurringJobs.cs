using Hangfire;
using Microsoft.Extensions.Options;
using Monolith.Tenancy.Jobs;

namespace Monolith.Access.Mail;

/// <summary>Delivery every <see cref="MailOptions.DeliverySeconds"/> seconds (the fallback of the wake-up on commit) and the daily retention.</summary>
internal sealed class MailRecurringJobs(IOptions<MailOptions> options) : IRecurringJobSchedule
{
    public const string RetentionCron = "20 3 * * *";

    public void Register(IRecurringJobManager recurring)
    {
        recurring.AddOrUpdate<MailDelivery>(
            MailDelivery.RecurringId,
            delivery => delivery.RunOnceAsync(CancellationToken.None),
            Cron(options.Value.DeliverySeconds),
            new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
        recurring.AddOrUpdate<MailRetention>(
            MailRetention.RecurringId,
            retention => retention.RunAsync(CancellationToken.None),
            RetentionCron,
            new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
    }

    /// <summary>Under a minute: a cron with seconds (Hangfire 1.8 reads six fields); otherwise whole minutes.</summary>
    internal static string Cron(int seconds) => Math.Max(1, seconds) switch
    {
        < 60 and var s => $"*/{s} * * * * *",
        var s => $"*/{Math.Min(59, s / 60)} * * * *",
    };
}
