using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Caching;
using Monolith.Tenancy;
using Monolith.Tenancy.Notifications;
using Monolith.Tenancy.Placement;
using Npgsql;

namespace Monolith.Toggles.Evaluation;

/// <summary>
/// Keeps <see cref="ToggleCache"/> true on this instance when any instance (or any other path: CLI, jobs,
/// SQL) changes toggles: LISTEN on <see cref="Channel"/> for the "&lt;schema&gt;:&lt;key&gt;" payloads the
/// tables' triggers send, and poll the cached tenants' state versions as a fallback, so a lost
/// notification costs at most one poll interval (⌈tenants in use ÷ <see cref="TenantsPerPoll"/>⌉ past that many). A dropped connection clears the cache and reconnects.
/// The poll visits the tenants used in the last <see cref="ToggleCache.IdleTenant"/> only, on a connection of the server's
/// owner pool, whose backends live briefly (docs/adr/0069), not on the listening one, which lives as long as the instance.
/// </summary>
internal sealed partial class ToggleChangeListener(
    TenantServers servers,
    ToggleCache cache,
    IOptions<TogglesOptions> options,
    IOptions<TenancyOptions> tenancy,
    TimeProvider clock,
    ILogger<ToggleChangeListener> logger) : BackgroundService
{
    public const string Channel = "monolith_toggles";

    private readonly ConcurrentDictionary<string, PollRotation<(string Schema, long Version), string>> rotations = new(StringComparer.Ordinal);
    private int connections;

    /// <summary>
    /// How many cached tenants of a server one poll visits (<see cref="PollRotation{TItem, TKey}"/>): with more in use, a
    /// lost notification is caught within ⌈tenants ÷ this⌉ polls instead of one, and a poll costs the same at any count.
    /// </summary>
    public int TenantsPerPoll { get; } = tenancy.Value.ValidCachePollTenants();
    private int processId;

    /// <summary>How many times the listener has (re)connected to the catalog's server and is listening (tests, diagnostics).</summary>
    public int Connections => Volatile.Read(ref connections);

    /// <summary>The server process id of the catalog's server's listening connection, 0 when not connected.</summary>
    public int ProcessId => Volatile.Read(ref processId);

    /// <summary>One listening loop per server of the placement map (docs/adr/0066): a tenant's toggles notify on its server.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pollInterval = TimeSpan.FromMilliseconds(Math.Max(50, options.Value.PollMilliseconds));
        var loops = new Dictionary<string, Task>(StringComparer.Ordinal)
        {
            [TenantServers.Catalog] = ListenToAsync(TenantServers.Catalog, servers.CatalogServer, pollInterval, stoppingToken),
        };
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                foreach (var (name, database) in await servers.AllAsync(stoppingToken))
                {
                    if (!loops.ContainsKey(name))
                    {
                        loops[name] = ListenToAsync(name, database, pollInterval, stoppingToken);
                    }
                }
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException or IOException)
            {
                LogDiscoveryFailed(logger, e);
            }

            await Task.Delay(pollInterval, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        await Task.WhenAll(loops.Values);
    }

    private async Task ListenToAsync(string server, PlatformDatabase database, TimeSpan pollInterval, CancellationToken stoppingToken)
    {
        var catalog = server == TenantServers.Catalog;
        var retryDelay = TimeSpan.FromMilliseconds(Math.Min(pollInterval.TotalMilliseconds, 500));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await database.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => OnNotification(e.Payload);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Whatever changed while nobody listened is unknown: start clean.
                cache.Clear();
                if (catalog)
                {
                    Volatile.Write(ref processId, connection.ProcessID);
                    Interlocked.Increment(ref connections);
                }

                while (!stoppingToken.IsCancellationRequested)
                {
                    if (await connection.WaitAsync(pollInterval, stoppingToken))
                    {
                        continue; // handled by OnNotification
                    }

                    await PollAsync(server, database, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException or IOException)
            {
                if (catalog)
                {
                    Volatile.Write(ref processId, 0);
                }

                cache.Clear();
                LogListenerDown(logger, server, e);
                // Until listening again, changes elsewhere go unheard: retry soon (and clear again once listening).
                await Task.Delay(retryDelay, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private void OnNotification(string payload)
    {
        var separator = payload.LastIndexOf(':');
        if (separator > 0)
        {
            cache.Invalidate(payload[..separator]);
        }
        else
        {
            cache.Clear();
        }
    }

    /// <summary>
    /// Compares the next <see cref="TenantsPerPoll"/> cached tenants' versions with the server's copy
    /// (<see cref="StateVersions"/>, one statement); a difference, or a tenant gone from the server, drops that tenant.
    /// </summary>
    private async Task PollAsync(string server, PlatformDatabase database, CancellationToken ct)
    {
        cache.ForgetIdle(server, clock.GetUtcNow());
        var rotation = rotations.GetOrAdd(server, _ => new PollRotation<(string Schema, long Version), string>(TenantsPerPoll, c => c.Schema, StringComparer.Ordinal));
        var cached = rotation.Next(cache.Versions(server));
        if (cached.Count == 0)
        {
            return;
        }

        long?[] versions;
        try
        {
            await using var connection = await database.OpenConnectionAsync(ct);
            versions = await StateVersions.ReadAsync(connection, "feature_toggle_state", cached.ConvertAll(c => c.Schema), ct);
        }
        catch (NpgsqlException)
        {
            // No answer (its owner pool exhausted, a lock not free at once): what is cached cannot be trusted past this
            // interval, for any of the server's tenants, not only those this poll would visit.
            foreach (var (schema, _) in cache.Versions(server))
            {
                cache.Invalidate(schema);
            }

            return;
        }

        for (var i = 0; i < cached.Count; i++)
        {
            if (versions[i] != cached[i].Version)
            {
                cache.Invalidate(cached[i].Schema);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Feature toggle listener lost its connection to server {Server}; cache cleared, reconnecting")]
    private static partial void LogListenerDown(ILogger logger, string server, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Feature toggle listener could not read the placement map; it tries again")]
    private static partial void LogDiscoveryFailed(ILogger logger, Exception exception);
}
