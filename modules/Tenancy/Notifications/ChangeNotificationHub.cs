using System.Diagnostics;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Monolith.Tenancy.Notifications;

/// <summary>
/// The instance's one LISTEN connection (docs/adr/0013). It listens on every channel the modules' subscribers name,
/// hands each notification to that channel's subscribers, and every poll interval lets them poll on the same
/// connection for changes whose notification was lost. When the connection fails it tells the subscribers
/// (<see cref="IChangeSubscriber.OnListenerLost"/>), reconnects with a backoff (100 ms doubling to 2 s) and tells
/// them again once it listens (<see cref="IChangeSubscriber.OnListening"/>) so they resynchronise.
/// <para>
/// The connection is its own (not from the request pool, which it would hold forever), with TCP keepalive so a
/// silently dead peer is noticed; the polls notice one too.
/// </para>
/// </summary>
internal sealed partial class ChangeNotificationHub : BackgroundService
{
    private static readonly TimeSpan MinimumBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaximumBackoff = TimeSpan.FromSeconds(2);

    private readonly IChangeSubscriber[] subscribers;
    private readonly string connectionString;
    private readonly TimeSpan pollInterval;
    private readonly ILogger<ChangeNotificationHub> logger;
    private int connections;
    private int processId;

    public ChangeNotificationHub(
        IEnumerable<IChangeSubscriber> subscribers, PlatformDatabase database, IOptions<TenancyOptions> options, ILogger<ChangeNotificationHub> logger)
    {
        this.subscribers = subscribers.ToArray();
        foreach (var subscriber in this.subscribers)
        {
            if (!ChannelName().IsMatch(subscriber.Channel))
            {
                throw new InvalidOperationException($"'{subscriber.Channel}' is not a valid notification channel name.");
            }
        }

        connectionString = new NpgsqlConnectionStringBuilder(database.ConnectionString)
        {
            Pooling = false,
            KeepAlive = 10,
            ApplicationName = "monolith-listen",
        }.ConnectionString;
        pollInterval = TimeSpan.FromMilliseconds(Math.Max(50, options.Value.CatalogPollMilliseconds));
        this.logger = logger;
    }

    /// <summary>How many times the hub has (re)connected and listened (tests, diagnostics).</summary>
    public int Connections => Volatile.Read(ref connections);

    /// <summary>The server process id of the listening connection; 0 while not listening.</summary>
    public int ProcessId => Volatile.Read(ref processId);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (subscribers.Length == 0)
        {
            return;
        }

        var backoff = MinimumBackoff;
        while (!stoppingToken.IsCancellationRequested)
        {
            var listening = false;
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(stoppingToken);
                connection.Notification += Dispatch;
                foreach (var channel in subscribers.Select(s => s.Channel).Distinct(StringComparer.Ordinal))
                {
                    await using var listen = new NpgsqlCommand($"LISTEN {channel}", connection);
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                listening = true;
                Volatile.Write(ref processId, connection.ProcessID);
                Interlocked.Increment(ref connections);
                foreach (var subscriber in subscribers)
                {
                    subscriber.OnListening();
                }

                backoff = MinimumBackoff;
                await ListenAsync(connection, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException or IOException or SocketException)
            {
                LogListenerDown(logger, e);
            }
            finally
            {
                Volatile.Write(ref processId, 0);
                if (listening)
                {
                    foreach (var subscriber in subscribers)
                    {
                        subscriber.OnListenerLost();
                    }
                }
            }

            await Task.Delay(backoff, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            backoff = TimeSpan.FromTicks(Math.Min(MaximumBackoff.Ticks, backoff.Ticks * 2));
        }
    }

    private async Task ListenAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        var nextPoll = Stopwatch.GetTimestamp() + (long)(pollInterval.TotalSeconds * Stopwatch.Frequency);
        while (!ct.IsCancellationRequested)
        {
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), nextPoll);
            if (wait > TimeSpan.Zero && await connection.WaitAsync(wait, ct))
            {
                continue; // dispatched by the Notification event; poll when the interval is over, however busy
            }

            foreach (var subscriber in subscribers)
            {
                try
                {
                    await subscriber.PollAsync(connection, ct);
                }
                catch (PostgresException e)
                {
                    // The subscriber's own statement failed; the connection is fine. It cannot trust what it has.
                    LogPollFailed(logger, subscriber.Channel, e);
                    subscriber.OnListenerLost();
                    subscriber.OnListening();
                }
            }

            nextPoll = Stopwatch.GetTimestamp() + (long)(pollInterval.TotalSeconds * Stopwatch.Frequency);
        }
    }

    private void Dispatch(object sender, NpgsqlNotificationEventArgs e)
    {
        foreach (var subscriber in subscribers)
        {
            if (!string.Equals(subscriber.Channel, e.Channel, StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                subscriber.OnNotification(e.Payload);
            }
#pragma warning disable CA1031 // one subscriber's bug must not silence the others or drop the connection
            catch (Exception exception)
#pragma warning restore CA1031
            {
                LogDispatchFailed(logger, e.Channel, exception);
                subscriber.OnListenerLost();
                subscriber.OnListening();
            }
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex ChannelName();

    [LoggerMessage(Level = LogLevel.Warning, Message = "The change listener lost its connection; subscribers resynchronise, reconnecting")]
    private static partial void LogListenerDown(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The poll of channel {Channel} failed; its subscriber resynchronises")]
    private static partial void LogPollFailed(ILogger logger, string channel, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "A subscriber of channel {Channel} failed on a notification; it resynchronises")]
    private static partial void LogDispatchFailed(ILogger logger, string channel, Exception exception);
}
