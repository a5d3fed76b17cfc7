using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Claims;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Monolith.Access.Tokens;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Notifications;
using Npgsql;

namespace Monolith.Access.Authorization;

/// <summary>
/// <see cref="ICallerAccessMonitor"/> for long-lived responses: each watch names a (tenant, user, session) and is
/// re-checked against <see cref="CurrentUsers"/> (the same per-instance cache every request is checked against) when an
/// access notification names its user, and every <see cref="SweepInterval"/> in any case, so changes the cache learns only
/// by its poll (a lost notification, a reconnect) and tenant status changes end watches too. One loop per instance does
/// the checks one at a time: a hit is two dictionary lookups, and a miss (the cache just dropped the entry) one short
/// query, never one per stream at once. The token's expiry ends its watch at that moment.
/// </summary>
internal sealed partial class CallerAccessWatches(
    CurrentUsers users, ITenantDirectory directory, TenantContext tenants, ILogger<CallerAccessWatches> logger)
    : BackgroundService, ICallerAccessMonitor, IChangeSubscriber
{
    public static readonly TimeSpan SweepInterval = TimeSpan.FromMilliseconds(500);

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<CallerWatch, byte>> watchesBySchema = new(StringComparer.Ordinal);
    private readonly Channel<bool> recheck = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Registers the monitor, its access-notification subscription and its loop (one line in <see cref="AccessModule"/>).</summary>
    public static void Add(IServiceCollection services)
    {
        services.AddSingleton<CallerAccessWatches>();
        services.AddSingleton<ICallerAccessMonitor>(sp => sp.GetRequiredService<CallerAccessWatches>());
        services.AddSingleton<IChangeSubscriber>(sp => sp.GetRequiredService<CallerAccessWatches>());
        services.AddHostedService(sp => sp.GetRequiredService<CallerAccessWatches>());
    }

    /// <summary>Open watches (tests, diagnostics).</summary>
    public int Count => watchesBySchema.Values.Sum(w => w.Count);

    string IChangeSubscriber.Channel => CurrentUsers.Channel;

    public ICallerAccessWatch Watch(ClaimsPrincipal caller, string minimumRole)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var watch = new CallerWatch(this, tenants.Current, minimumRole,
            Guid.TryParse(caller.FindFirst(AccessClaims.Subject)?.Value, out var user) ? user : null,
            Guid.TryParse(caller.FindFirst(AccessClaims.Session)?.Value, out var session) ? session : null);
        if (watch.Tenant is null || watch.UserId is null || watch.SessionId is null || caller.Identity?.IsAuthenticated != true)
        {
            watch.End();
            return watch;
        }

        if (long.TryParse(caller.FindFirst("exp")?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var expires))
        {
            var left = DateTimeOffset.FromUnixTimeSeconds(expires) - DateTimeOffset.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                watch.End();
                return watch;
            }

            watch.EndAfter(left);
        }

        watchesBySchema.GetOrAdd(watch.Tenant.SchemaName, _ => new ConcurrentDictionary<CallerWatch, byte>())[watch] = 0;
        return watch;
    }

    /// <summary>"schema:user:session:version" (user <c>*</c> for all): marks the watches it may end for a re-check now.</summary>
    public void OnNotification(string payload)
    {
        var parts = payload.Split(':');
        if (parts.Length < 2 || !watchesBySchema.TryGetValue(parts[0], out var watches))
        {
            return;
        }

        var everyone = !Guid.TryParse(parts[1], out var userId);
        foreach (var watch in watches.Keys)
        {
            if (everyone || watch.UserId == userId)
            {
                watch.Dirty = true;
            }
        }

        recheck.Writer.TryWrite(true);
    }

    public void OnListening()
    {
        foreach (var watches in watchesBySchema.Values)
        {
            foreach (var watch in watches.Keys)
            {
                watch.Dirty = true;
            }
        }

        recheck.Writer.TryWrite(true);
    }

    public void OnListenerLost()
    {
        // Nothing is heard now; the sweep goes on against the cache, which reads the database while nobody listens.
    }

    /// <summary>The sweep is the fallback: nothing to poll on the hub's connection.</summary>
    public Task PollAsync(string server, NpgsqlConnection connection, CancellationToken ct) => Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var nextSweep = DateTime.UtcNow + SweepInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = nextSweep - DateTime.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                timeout.CancelAfter(wait);
                try
                {
                    await recheck.Reader.ReadAsync(timeout.Token);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // the sweep is due
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            var sweep = DateTime.UtcNow >= nextSweep;
            if (sweep)
            {
                nextSweep = DateTime.UtcNow + SweepInterval;
            }

            foreach (var (schema, watches) in watchesBySchema)
            {
                foreach (var watch in watches.Keys)
                {
                    var dirty = watch.Dirty;
                    watch.Dirty = false;
                    if ((sweep || dirty) && !watch.Ended.IsCancellationRequested)
                    {
                        await CheckAsync(watch, stoppingToken);
                    }
                }

                if (watches.IsEmpty)
                {
                    watchesBySchema.TryRemove(new KeyValuePair<string, ConcurrentDictionary<CallerWatch, byte>>(schema, watches));
                }
            }
        }
    }

    private async Task CheckAsync(CallerWatch watch, CancellationToken ct)
    {
        var watched = watch.Tenant!;
        try
        {
            var tenant = await directory.FindAsync(watched.Identifier, ct);
            if (tenant is null || tenant.Id != watched.Id || tenant.Status != TenantStatus.Active)
            {
                watch.End();
                return;
            }

            CurrentUser? current;
            using (tenants.Enter(tenant))
            {
                current = await users.FindAsync(tenant, watch.UserId!.Value, watch.SessionId!.Value, ct);
            }

            if (current is null || !Roles.IsAtLeast(current.Role, watch.MinimumRole))
            {
                watch.End();
            }
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException && !ct.IsCancellationRequested)
        {
            // The database cannot say now: the watch stays (the caller's requests fail meanwhile), the next sweep asks again.
            LogCheckFailed(logger, e);
        }
    }

    private void Remove(CallerWatch watch)
    {
        if (watch.Tenant is { } tenant && watchesBySchema.TryGetValue(tenant.SchemaName, out var watches))
        {
            watches.TryRemove(watch, out _);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not re-check a watched caller's access; trying again at the next sweep")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);

    private sealed class CallerWatch : ICallerAccessWatch
    {
        private readonly CallerAccessWatches owner;
        private readonly CancellationTokenSource ended = new();

        public CallerWatch(CallerAccessWatches owner, TenantInfo? tenant, string minimumRole, Guid? userId, Guid? sessionId)
        {
            this.owner = owner;
            Tenant = tenant;
            MinimumRole = minimumRole;
            UserId = userId;
            SessionId = sessionId;
            Ended = ended.Token;
        }

        public TenantInfo? Tenant { get; }

        public string MinimumRole { get; }

        public Guid? UserId { get; }

        public Guid? SessionId { get; }

        /// <summary>An access notification named this watch's user since its last check.</summary>
        public bool Dirty
        {
            get => Volatile.Read(ref dirty);
            set => Volatile.Write(ref dirty, value);
        }

        public CancellationToken Ended { get; }

        private bool dirty;

        // Cancel and Dispose may race (the stream ends as its access does): a disposed watch has nothing left to end.
        public void EndAfter(TimeSpan delay)
        {
            try
            {
                ended.CancelAfter(delay);
            }
            catch (ObjectDisposedException)
            {
            }
        }

        public void End()
        {
            try
            {
                ended.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }

        public void Dispose()
        {
            owner.Remove(this);
            ended.Dispose();
        }
    }
}
