using System.Diagnostics;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.Tenancy.Placement;
using Npgsql;

namespace Monolith.Tenancy.Notifications;

/// <summary>
/// The instance's LISTEN connections (docs/adr/0013): one to each server of the placement map (docs/adr/0066), since a
/// tenant's changes are notified on its own server. Each listens on the channels the modules' subscribers name (catalog
/// channels on the catalog's server only), hands each notification to that channel's subscribers, and every poll
/// interval lets them poll on the same connection for changes whose notification was lost. When a connection fails it
/// tells the subscribers (<see cref="IChangeSubscriber.OnListenerLost"/>), reconnects with a backoff (100 ms doubling to
/// 2 s) and, once every server's connection listens, tells them again (<see cref="IChangeSubscriber.OnListening"/>) so
/// they resynchronise. Servers added to the map are picked up every poll interval.
/// <para>
/// The connections are their own (not from the request pool, which they would hold forever), with TCP keepalive so a
/// silently dead peer is noticed; the polls notice one too.
/// </para>
/// </summary>
internal sealed partial class ChangeNotificationHub : BackgroundService
{
    private static readonly TimeSpan MinimumBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaximumBackoff = TimeSpan.FromSeconds(2);

    private readonly IChangeSubscriber[] subscribers;
    private readonly TenantServers servers;
    private readonly TimeSpan pollInterval;
    private readonly ILogger<ChangeNotificationHub> logger;
    private readonly Lock state = new();
    private readonly HashSet<string> listeningServers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task> loops = new(StringComparer.Ordinal);
    private bool allListening;
    private int connections;
    private int processId;

    public ChangeNotificationHub(
        IEnumerable<IChangeSubscriber> subscribers, TenantServers servers, IOptions<TenancyOptions> options, ILogger<ChangeNotificationHub> logger)
    {
        this.subscribers = subscribers.ToArray();
        foreach (var subscriber in this.subscribers)
        {
            if (!ChannelName().IsMatch(subscriber.Channel))
            {
                throw new InvalidOperationException($"'{subscriber.Channel}' is not a valid notification channel name.");
            }
        }

        this.servers = servers;
        pollInterval = TimeSpan.FromMilliseconds(Math.Max(50, options.Value.CatalogPollMilliseconds));
        this.logger = logger;
    }

    /// <summary>How many times the hub has (re)connected and listened on the catalog's server (tests, diagnostics).</summary>
    public int Connections => Volatile.Read(ref connections);

    /// <summary>The server process id of the catalog's server's listening connection; 0 while not listening.</summary>
    public int ProcessId => Volatile.Read(ref processId);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (subscribers.Length == 0)
        {
            return;
        }

        Start(TenantServers.Catalog, servers.CatalogServer, stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                foreach (var (name, database) in await servers.AllAsync(stoppingToken))
                {
                    if (!loops.ContainsKey(name))
                    {
                        Start(name, database, stoppingToken);
                    }
                }
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException or IOException or SocketException)
            {
                LogDiscoveryFailed(logger, e);
            }

            await Task.Delay(pollInterval, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        await Task.WhenAll(loops.Values);
    }

    private void Start(string server, PlatformDatabase database, CancellationToken stoppingToken)
    {
        lock (state)
        {
            // Until the new server's connection listens, its tenants' notifications are not heard.
            loops[server] = Task.CompletedTask;
            Lost();
        }

        var loop = ListenToAsync(server, database, stoppingToken);
        lock (state)
        {
            loops[server] = loop;
        }
    }

    private async Task ListenToAsync(string server, PlatformDatabase database, CancellationToken stoppingToken)
    {
        var catalog = server == TenantServers.Catalog;
        var mine = subscribers.Where(s => catalog || !s.CatalogOnly).ToArray();
        var backoff = MinimumBackoff;
        while (!stoppingToken.IsCancellationRequested)
        {
            var listening = false;
            try
            {
                // Asked again at each connection: another server's connection strings may have changed since (0086).
                var current = catalog ? database : await servers.ForAsync(server, stoppingToken);
                var connectionString = new NpgsqlConnectionStringBuilder(current.ConnectionString)
                {
                    Pooling = false,
                    KeepAlive = 10,
                    ApplicationName = "monolith-listen",
                }.ConnectionString;
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(stoppingToken);
                connection.Notification += (_, e) => Dispatch(mine, e);
                foreach (var channel in mine.Select(s => s.Channel).Distinct(StringComparer.Ordinal))
                {
                    await using var listen = new NpgsqlCommand($"LISTEN {channel}", connection);
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                listening = true;
                if (catalog)
                {
                    Volatile.Write(ref processId, connection.ProcessID);
                    Interlocked.Increment(ref connections);
                }

                Listening(server);
                backoff = MinimumBackoff;
                await ListenAsync(server, connection, mine, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException or IOException or SocketException)
            {
                LogListenerDown(logger, server, e);
            }
            finally
            {
                if (catalog)
                {
                    Volatile.Write(ref processId, 0);
                }

                if (listening)
                {
                    lock (state)
                    {
                        listeningServers.Remove(server);
                        Lost();
                    }
                }
            }

            await Task.Delay(backoff, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            backoff = TimeSpan.FromTicks(Math.Min(MaximumBackoff.Ticks, backoff.Ticks * 2));
        }
    }

    /// <summary>Subscribers hear "listening" once every known server's connection listens.</summary>
    private void Listening(string server)
    {
        lock (state)
        {
            listeningServers.Add(server);
            if (allListening || listeningServers.Count < loops.Count)
            {
                return;
            }

            allListening = true;
            foreach (var subscriber in subscribers)
            {
                subscriber.OnListening();
            }
        }
    }

    /// <summary>Under <see cref="state"/>: subscribers hear "lost" when the hub stops hearing everything.</summary>
    private void Lost()
    {
        if (!allListening)
        {
            return;
        }

        allListening = false;
        foreach (var subscriber in subscribers)
        {
            subscriber.OnListenerLost();
        }
    }

    private async Task ListenAsync(string server, NpgsqlConnection connection, IChangeSubscriber[] mine, CancellationToken ct)
    {
        var nextPoll = Stopwatch.GetTimestamp() + (long)(pollInterval.TotalSeconds * Stopwatch.Frequency);
        while (!ct.IsCancellationRequested)
        {
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), nextPoll);
            if (wait > TimeSpan.Zero && await connection.WaitAsync(wait, ct))
            {
                continue; // dispatched by the Notification event; poll when the interval is over, however busy
            }

            foreach (var subscriber in mine)
            {
                try
                {
                    await subscriber.PollAsync(server, connection, ct);
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

    private void Dispatch(IChangeSubscriber[] mine, NpgsqlNotificationEventArgs e)
    {
        foreach (var subscriber in mine)
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "The change listener lost its connection to server {Server}; subscribers resynchronise, reconnecting")]
    private static partial void LogListenerDown(ILogger logger, string server, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The change listener could not read the placement map; it tries again")]
    private static partial void LogDiscoveryFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The poll of channel {Channel} failed; its subscriber resynchronises")]
    private static partial void LogPollFailed(ILogger logger, string channel, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "A subscriber of channel {Channel} failed on a notification; it resynchronises")]
    private static partial void LogDispatchFailed(ILogger logger, string channel, Exception exception);
}
