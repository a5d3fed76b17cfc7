using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Monolith.Tenancy.Notifications;
using Npgsql;

namespace Monolith.Access.Mail;

/// <summary>
/// Low latency: the outbox trigger notifies <c>monolith_mail</c> when a transaction that queued mail commits, and on the
/// instances that run jobs this runs a delivery right away instead of waiting for the recurring job (which stays the
/// fallback for a lost notification). Wake-ups that arrive during a run are folded into one more run.
/// </summary>
internal sealed partial class MailDeliveryWakeup(MailDelivery delivery, ILogger<MailDeliveryWakeup> logger) : BackgroundService, IChangeSubscriber
{
    public const string ChannelName = "monolith_mail";

    private readonly Channel<bool> wakeups = System.Threading.Channels.Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public string Channel => ChannelName;

    public void OnNotification(string payload) => wakeups.Writer.TryWrite(true);

    /// <summary>Listening again after a loss: mail queued meanwhile was not heard of.</summary>
    public void OnListening() => wakeups.Writer.TryWrite(true);

    public void OnListenerLost()
    {
    }

    public Task PollAsync(string server, NpgsqlConnection connection, CancellationToken ct) => Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await wakeups.Reader.WaitToReadAsync(stoppingToken))
            {
                wakeups.Reader.TryRead(out _);
                try
                {
                    await delivery.RunOnceAsync(stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
#pragma warning disable CA1031 // a failed run must not end the wake-ups; the recurring job retries what it left
                catch (Exception e)
#pragma warning restore CA1031
                {
                    LogRunFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A mail delivery run woken by a commit failed; the recurring job tries again")]
    private static partial void LogRunFailed(ILogger logger, Exception exception);
}
