using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;
using Monolith.Tenancy.Jobs;
using Monolith.Tenancy.Notifications;

namespace Monolith.Access.Mail;

/// <summary>The host's mail delivery: the transport, the jobs, and the wake-up on commit where this process runs jobs.</summary>
internal static partial class MailSetup
{
    public static void AddMailDelivery(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MailOptions>()
            .Validate(o => MailboxAddress.TryParse(o.From, out _), "Mail__From must be an e-mail address, optionally with a name: Name <address>.")
            .Validate(o => string.IsNullOrWhiteSpace(o.Smtp.Host) || IsSecurity(o.Smtp.Security),
                "Mail__Smtp__Security must be one of Auto, None, StartTls, StartTlsWhenAvailable, SslOnConnect.")
            .ValidateOnStart();
        services.AddSingleton<IMailSender>(sp => string.IsNullOrWhiteSpace(sp.GetRequiredService<IOptions<MailOptions>>().Value.Smtp.Host)
            ? ActivatorUtilities.CreateInstance<PickupDirectoryMailSender>(sp)
            : ActivatorUtilities.CreateInstance<SmtpMailSender>(sp));
        services.AddSingleton<MailMetrics>();
        services.AddSingleton<SharedKernel.Telemetry.ITelemetrySource, MailOutboxGauges>();
        services.AddSingleton<MailDelivery>();
        services.AddSingleton<MailRetention>();
        services.AddSingleton<IRecurringJobSchedule, MailRecurringJobs>();
        services.AddHostedService<TransportCheck>();

        // The same condition as Hangfire's server (Tenancy's JobsSetup): a process that runs no jobs delivers no mail.
        var runsJobs = configuration.GetValue("Jobs:ServerEnabled", true) || configuration.GetValue("Jobs:WorkerOnly", false);
        if (runsJobs && configuration.GetValue($"{MailOptions.Section}:{nameof(MailOptions.WakeOnCommit)}", true))
        {
            services.AddSingleton<MailDeliveryWakeup>();
            services.AddSingleton<IChangeSubscriber>(sp => sp.GetRequiredService<MailDeliveryWakeup>());
            services.AddHostedService(sp => sp.GetRequiredService<MailDeliveryWakeup>());
        }
    }

    private static bool IsSecurity(string? security)
    {
        try
        {
            SmtpMailSender.SecurityOf(security);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Says once, at start, where mail goes — or that it stays in the outboxes.</summary>
    private sealed partial class TransportCheck(IOptions<MailOptions> options, ILogger<TransportCheck> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            var mail = options.Value;
            if (!string.IsNullOrWhiteSpace(mail.Smtp.Host))
            {
                LogSmtp(logger, mail.Smtp.Host, mail.Smtp.Port);
            }
            else if (!string.IsNullOrWhiteSpace(mail.PickupDirectory))
            {
                var directory = Path.GetFullPath(mail.PickupDirectory);
                LogPickup(logger, directory);
            }
            else
            {
                LogNoTransport(logger);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Information, Message = "Mail goes out through SMTP at {Host}:{Port}")]
        private static partial void LogSmtp(ILogger logger, string host, int port);

        [LoggerMessage(Level = LogLevel.Information, Message = "Mail is written as .eml files to {Directory}")]
        private static partial void LogPickup(ILogger logger, string directory);

        [LoggerMessage(Level = LogLevel.Warning,
            Message = "No mail transport is configured (Mail__Smtp__Host or Mail__PickupDirectory): mail stays in the tenants' outboxes until one is")]
        private static partial void LogNoTransport(ILogger logger);
    }
}
