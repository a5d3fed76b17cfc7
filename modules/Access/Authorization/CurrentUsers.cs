using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Monolith.Access.Data;
using Monolith.SharedKernel.Caching;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Notifications;
using Monolith.Tenancy.Placement;
using Npgsql;

namespace Monolith.Access.Authorization;

/// <summary>What the database says now about the user and session an access token names: live, with this role and e-mail.</summary>
internal sealed record CurrentUser(string Role, string Email);

/// <summary>What <see cref="CurrentUsers"/> reads in one round trip: the tenant's access version and the session's user, if live.</summary>
internal sealed class AccessRow
{
    public long Version { get; init; }

    public string? Role { get; init; }

    public string? Email { get; init; }
}

/// <summary>
/// The per-instance cache of users' current state, keyed by (tenant, user, session) (docs/adr/0013). A hit costs two
/// dictionary lookups; a miss one query in the tenant's schema. An ended session, a deleted or disabled user are
/// cached too (as null), so a refused token does not cost a query per request.
/// <para>
/// Kept true by the tenant's triggers: every change that can end or alter access bumps the tenant's
/// <c>access_state.version</c> and notifies <see cref="Channel"/> with "schema:user:session:version". Served by the
/// instance's <see cref="ChangeNotificationHub"/>: a notification drops the entries it names; every poll interval
/// the cached tenants' versions are compared, so a lost notification costs at most one interval; while the hub is not
/// listening nothing is cached (every request reads the database).
/// </para>
/// <para>
/// The poll's work follows the tenants in use, not every tenant ever served: a tenant whose entries have not been used for
/// <see cref="IdleTenant"/> is dropped before the poll (it reloads on use), and the poll runs on a connection of the
/// server's owner pool, whose backends live briefly (docs/adr/0069), so no backend keeps the catalog of every tenant the
/// instance has ever polled (issue 16).
/// </para>
/// <para>
/// Races: a load that started before an invalidation is not stored (<see cref="generation"/>), and an entry is
/// stored only when it was read at the version its tenant's bucket is known to be at.
/// </para>
/// </summary>
internal sealed class CurrentUsers(AccessDatabase database, TenantServers servers, TimeProvider clock) : IChangeSubscriber
{
    public const string Channel = "monolith_access";
    private const int MaxEntries = 200_000;

    /// <summary>How long a tenant's entries stay cached without being used.</summary>
    public static readonly TimeSpan IdleTenant = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<Guid, TenantEntries> tenants = new();
    private readonly ConcurrentDictionary<string, Guid> tenantBySchema = new(StringComparer.Ordinal);
    private readonly Lock gate = new();
    private readonly ConcurrentDictionary<string, PollRotation<TenantEntries, Guid>> rotations = new(StringComparer.Ordinal);
    private long generation;
    private int entries;
    private volatile bool listening;

    string IChangeSubscriber.Channel => Channel;

    /// <summary>
    /// How many cached tenants of a server one poll visits (<see cref="PollRotation{TItem, TKey}"/>,
    /// <c>Tenancy__CachePollTenants</c>): with more in use, a lost notification is caught within ⌈tenants ÷ this⌉ polls
    /// instead of one, and a poll costs the same at any count.
    /// </summary>
    public int TenantsPerPoll { get; init; } = PollRotation.DefaultPerPass;

    /// <summary>Entries held (tests, diagnostics).</summary>
    public int Count => Volatile.Read(ref entries);

    /// <summary>Tenants with entries held, which the poll visits (tests, diagnostics).</summary>
    public int Tenants => tenants.Count;

    /// <summary>The current state of the token's user and session; null when the session ended or the user is gone or disabled.</summary>
    public async ValueTask<CurrentUser?> FindAsync(TenantInfo tenant, Guid userId, Guid sessionId, CancellationToken ct)
    {
        if (listening && tenants.TryGetValue(tenant.Id, out var bucket) && bucket.Entries.TryGetValue((userId, sessionId), out var cached))
        {
            bucket.Idle.Used();
            return cached;
        }

        var seen = Volatile.Read(ref generation);
        var (version, current) = await LoadAsync(userId, sessionId, ct);
        Store(tenant, version, userId, sessionId, current, seen);
        return current;
    }

    private async Task<(long Version, CurrentUser? User)> LoadAsync(Guid userId, Guid sessionId, CancellationToken ct)
    {
        await using var unit = await database.BeginAsync(ct);
        // One round trip for the change counter (access_state, kept by triggers) and the session's user: SQL on the context.
        var row = await unit.Db.Database.SqlQuery<AccessRow>(
            $"""
             SELECT coalesce((SELECT version FROM access_state), 0) AS "Version", u.role AS "Role", u.email AS "Email"
             FROM (SELECT 1) AS one
             LEFT JOIN sessions s ON s.id = {sessionId} AND s.user_id = {userId} AND s.ended_at IS NULL AND s.expires_at > now()
             LEFT JOIN users u ON u.id = s.user_id AND u.status = 'active'
             """).FirstOrNullAsync(ct);
        await unit.CommitAsync(ct);
        return (row!.Version, row is { Role: { } role, Email: { } email } ? new CurrentUser(role, email) : null);
    }

    private void Store(TenantInfo tenant, long version, Guid userId, Guid sessionId, CurrentUser? current, long seen)
    {
        if (!listening)
        {
            return;
        }

        lock (gate)
        {
            if (generation != seen || !listening)
            {
                return; // something was invalidated while this was read: it may be older than that
            }

            var bucket = tenants.GetOrAdd(tenant.Id, _ => new TenantEntries(tenant, version));
            tenantBySchema[tenant.SchemaName] = tenant.Id;
            bucket.Idle.Used();
            if (bucket.Version != version)
            {
                return; // the poll reconciles the bucket with the database first
            }

            if (entries >= MaxEntries)
            {
                ClearLocked();
                bucket = tenants.GetOrAdd(tenant.Id, _ => new TenantEntries(tenant, version));
                tenantBySchema[tenant.SchemaName] = tenant.Id;
            }

            if (bucket.Entries.TryAdd((userId, sessionId), current))
            {
                entries++;
            }
        }
    }

    /// <summary>
    /// This instance's own change, after its commit: dropped at once (the notification does the same on every instance
    /// a moment later). <paramref name="sessionId"/> null for every session of the user.
    /// </summary>
    public void Forget(Guid tenantId, Guid userId, Guid? sessionId = null)
    {
        lock (gate)
        {
            generation++;
            if (!tenants.TryGetValue(tenantId, out var bucket))
            {
                return;
            }

            foreach (var key in bucket.Entries.Keys)
            {
                if (key.User == userId && (sessionId is null || key.Session == sessionId) && bucket.Entries.TryRemove(key, out _))
                {
                    entries--;
                }
            }
        }
    }

    /// <summary>"schema:user:session:version", user and session <c>*</c> for all.</summary>
    public void OnNotification(string payload)
    {
        var parts = payload.Split(':');
        if (parts.Length != 4 || !tenantBySchema.TryGetValue(parts[0], out var tenantId))
        {
            return; // a tenant nothing is cached of
        }

        lock (gate)
        {
            generation++;
            if (!tenants.TryGetValue(tenantId, out var bucket))
            {
                return;
            }

            if (!Guid.TryParse(parts[1], out var userId))
            {
                RemoveBucketLocked(tenantId, bucket); // the whole tenant (a TRUNCATE)
                return;
            }

            var everySession = !Guid.TryParse(parts[2], out var sessionId);
            foreach (var key in bucket.Entries.Keys)
            {
                if (key.User == userId && (everySession || key.Session == sessionId) && bucket.Entries.TryRemove(key, out _))
                {
                    entries--;
                }
            }

            // Changes are numbered in commit order (they queue on the access_state row): when this is the very next
            // one, the bucket is now current; otherwise one was missed and the poll clears the tenant.
            if (long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version == bucket.Version + 1)
            {
                bucket.Version = version;
            }
        }
    }

    public void OnListening()
    {
        lock (gate)
        {
            ClearLocked();
            listening = true;
        }
    }

    public void OnListenerLost()
    {
        lock (gate)
        {
            listening = false;
            ClearLocked();
        }
    }

    /// <summary>
    /// Drops the tenants not used for <see cref="IdleTenant"/>, then compares the version of the next
    /// <see cref="TenantsPerPoll"/> cached tenants of <paramref name="server"/> (all of them when there are fewer) with the
    /// server's copy (<see cref="StateVersions"/>), in one statement on a connection of the server's owner pool rather than
    /// the hub's listening <paramref name="connection"/>, which lives as long as the instance.
    /// </summary>
    public async Task PollAsync(string server, NpgsqlConnection connection, CancellationToken ct)
    {
        ForgetIdleTenants(server);
        // A tenant that has moved since it was cached is polled where it was, is gone there, and reloads on use.
        var rotation = rotations.GetOrAdd(server, _ => new PollRotation<TenantEntries, Guid>(TenantsPerPoll, b => b.Tenant.Id));
        var buckets = rotation.Next(tenants.Values.Where(b => b.Tenant.Server == server));
        if (buckets.Count == 0)
        {
            return;
        }

        long?[] versions;
        try
        {
            await using var poll = await (await servers.ForAsync(server, ct)).OpenConnectionAsync(ct);
            versions = await StateVersions.ReadAsync(poll, "access_state", buckets.ConvertAll(b => b.Tenant.SchemaName), ct);
        }
        catch (NpgsqlException)
        {
            // No answer (the server unreachable, its owner pool exhausted, a lock not free at once): what is cached cannot
            // be trusted past this interval, so none of this server's tenants is (not only those this poll would visit).
            Forget(tenants.Values.Where(b => b.Tenant.Server == server).ToList());
            return;
        }

        lock (gate)
        {
            for (var i = 0; i < buckets.Count; i++)
            {
                var bucket = buckets[i];
                if (versions[i] != bucket.Version && tenants.TryGetValue(bucket.Tenant.Id, out var live) && ReferenceEquals(live, bucket))
                {
                    generation++;
                    RemoveBucketLocked(bucket.Tenant.Id, bucket);
                }
            }
        }
    }

    /// <summary>Drops these tenants' entries: they reload on use.</summary>
    private void Forget(List<TenantEntries> buckets)
    {
        lock (gate)
        {
            generation++;
            foreach (var bucket in buckets)
            {
                RemoveBucketLocked(bucket.Tenant.Id, bucket);
            }
        }
    }

    private void ForgetIdleTenants(string server)
    {
        var now = clock.GetUtcNow();
        var idle = tenants.Where(pair => pair.Value.Tenant.Server == server && pair.Value.Idle.IsIdle(now, IdleTenant)).ToList();
        if (idle.Count == 0)
        {
            return;
        }

        lock (gate)
        {
            generation++; // a load under way for a dropped tenant is not stored into a bucket that no longer exists
            foreach (var (tenantId, bucket) in idle)
            {
                RemoveBucketLocked(tenantId, bucket);
                tenantBySchema.TryRemove(new KeyValuePair<string, Guid>(bucket.Tenant.SchemaName, tenantId));
            }
        }
    }

    private void RemoveBucketLocked(Guid tenantId, TenantEntries bucket)
    {
        if (tenants.TryRemove(new KeyValuePair<Guid, TenantEntries>(tenantId, bucket)))
        {
            entries -= bucket.Entries.Count;
        }
    }

    private void ClearLocked()
    {
        generation++;
        tenants.Clear();
        tenantBySchema.Clear();
        entries = 0;
    }

    /// <summary>One tenant's entries and the <c>access_state.version</c> they are known to reflect.</summary>
    private sealed class TenantEntries(TenantInfo tenant, long version)
    {
        public TenantInfo Tenant { get; } = tenant;

        public long Version { get; set; } = version;

        public IdleMark Idle { get; } = new();

        public ConcurrentDictionary<(Guid User, Guid Session), CurrentUser?> Entries { get; } = new();
    }
}
