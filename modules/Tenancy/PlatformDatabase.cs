using System.Data;
using Microsoft.Extensions.Logging;
using Monolith.Tenancy.Bounds;
using Npgsql;

namespace Monolith.Tenancy;

/// <summary>
/// The host's two connection pools (docs/adr/0005).
/// <list type="bullet">
/// <item><see cref="DataSource"/>: <c>ConnectionStrings__MonolithOwner</c>, the role that owns the schemas. For platform work
/// only: provisioning, migrations, retention, jobs, logs, the catalog's writes.</item>
/// <item>The request pool: <c>ConnectionStrings__Monolith</c>, the request role. It owns nothing and holds no
/// privilege on tenant tables; tenant data is reached through <see cref="Isolation.TenantDatabase"/>, which becomes the
/// tenant's role for one transaction at a time. It is split into <see cref="RequestPools"/> sub-pools, each tenant
/// served by the same one while it has a free connection (<see cref="OpenTenantConnectionAsync"/>), so that each
/// PostgreSQL backend caches the catalog of a fraction of the schemas (docs/adr/0064), and a backend that holds
/// more than <see cref="BackendMemoryMegabytes"/> of memory ends instead of going back to the pool (docs/adr/0071).</item>
/// </list>
/// Without an owner connection string both pools use <c>ConnectionStrings__Monolith</c> (the layout before the two
/// roles); the start-up check then finds a request role that owns the schemas and says so.
/// <para>
/// The same pair of pools reaches each other server of the placement map (<see cref="Placement.TenantServers"/>): there
/// it holds tenant schemas and that server's own platform facts, never the catalog.
/// </para>
/// </summary>
public sealed partial class PlatformDatabase : IAsyncDisposable
{
    private readonly NpgsqlDataSource[] requestPoolsBySubPool;
    private readonly NpgsqlDataSource? requestRolePool;
    private readonly NpgsqlConnectionStringBuilder requestShare;
    private NpgsqlDataSource[]? requestRoleSubPools;
    private readonly Lock loginRefusal = new();
    private readonly string poolSuffix;
    private int[] subPoolSizes = [];
    private int[] subPoolBusy = [];
    private readonly BackendMemoryBudget? memoryBudget;

    public PlatformDatabase(
        string requestConnectionString, string? ownerConnectionString, bool transactionPooling = false, int? requestPools = null, string? server = null,
        int? backendMemoryMegabytes = null, bool requestLogins = false, ILogger? logger = null)
    {
        Logger = logger;
        var request = Validated(requestConnectionString, TenancyModule.ConnectionStringName, transactionPooling);
        if (!transactionPooling)
        {
            // A backend keeps the catalog of every schema it served until it ends (docs/adr/0064): recycling bounds how
            // long it can gather them. Behind a transaction pooler the pooler's server_lifetime does this instead.
            if (!Mentions(requestConnectionString, nameof(NpgsqlConnectionStringBuilder.ConnectionLifetime)))
            {
                request.ConnectionLifetime = DefaultConnectionLifetimeSeconds;
            }

            if (!Mentions(requestConnectionString, nameof(NpgsqlConnectionStringBuilder.ConnectionIdleLifetime)))
            {
                request.ConnectionIdleLifetime = DefaultConnectionIdleLifetimeSeconds;
            }
        }

        if (!transactionPooling && !Mentions(requestConnectionString, nameof(NpgsqlConnectionStringBuilder.MaxAutoPrepare)))
        {
            // With prepared statements on a connection, Npgsql resets it without DISCARD ALL's DISCARD PLANS (roles,
            // settings, cursors, locks and temporary objects are still reset): the plans of the audit trail's functions
            // and of our own statements then outlive the request instead of being made again by each one
            // (docs/adr/0032, docs/BENCHMARKS.md). "Max Auto Prepare=0" turns it off.
            request.MaxAutoPrepare = DefaultMaxAutoPrepare;
        }

        var owner = ownerConnectionString is { Length: > 0 }
            ? Validated(ownerConnectionString, TenancyModule.OwnerConnectionStringName, transactionPooling: false)
            : request;
        if (ownerConnectionString is { Length: > 0 })
        {
            // The owner's backends visit every schema in turn (spare schemas, migrations, the jobs' passes) and keep each
            // one's catalog until they end: a short life bounds that by what one backend does in it, not by the tenant
            // count (docs/adr/0069). The string reaches DbUp's connections as well as the owner pool.
            if (!Mentions(ownerConnectionString, nameof(NpgsqlConnectionStringBuilder.ConnectionLifetime)))
            {
                owner.ConnectionLifetime = DefaultOwnerConnectionLifetimeSeconds;
            }

            if (!Mentions(ownerConnectionString, nameof(NpgsqlConnectionStringBuilder.ConnectionIdleLifetime)))
            {
                owner.ConnectionIdleLifetime = DefaultOwnerConnectionLifetimeSeconds;
            }
        }

        RequestConnectionString = request.ConnectionString;
        RequestRole = request.Username ?? string.Empty;
        RequestPoolSize = request.MaxPoolSize;
        ConnectionString = owner.ConnectionString;
        HasSeparateOwner = ownerConnectionString is { Length: > 0 };
        TransactionPooling = transactionPooling;
        // A server of the placement map other than the catalog's adds its name to its pools' names (docs/adr/0066).
        poolSuffix = server is null ? string.Empty : "@" + server;
        memoryBudget = MemoryBudgetOf(backendMemoryMegabytes, transactionPooling, request.MaxPoolSize);
        var pools = requestPools ?? (transactionPooling ? 1 : DefaultRequestPools);
        if (pools < 1)
        {
            throw new InvalidOperationException($"{TenancyOptions.Section}__{nameof(TenancyOptions.RequestPools)} is {pools}: it must be at least 1.");
        }

        pools = Math.Min(pools, Math.Max(1, request.MaxPoolSize));
        // Sub-pools of their own logins (docs/adr/0073) need the owner to make them, and a backend of their own per session.
        RequestLogins = requestLogins && HasSeparateOwner && !transactionPooling && request.MaxPoolSize > pools
            ? Isolation.RequestLogins.NamesFor(RequestRole, pools)
            : [];
        requestShare = request;
        var shares = RequestLogins.Count > 0 ? pools + 1 : pools;
        subPoolSizes = Enumerable.Range(0, shares).Select(i => Share(request, shares, i).MaxPoolSize).ToArray();
        subPoolBusy = new int[shares];
        requestPoolsBySubPool = SubPools(request, pools, RequestLogins);
        if (RequestLogins.Count > 0)
        {
            requestRolePool = Pool(Share(request, pools + 1, pools).ConnectionString, "requests-shared");
        }

        DataSource = HasSeparateOwner ? DataSourceBuilder(ConnectionString, "owner" + poolSuffix).Build() : RequestDataSource;
    }

    /// <summary>
    /// The one way the host builds an Npgsql data source: named (the pool metrics label each pool by its name instead of
    /// its connection string), and without Npgsql's type loading (docs/adr/0070). A data source's first connection would
    /// otherwise read the database's types, two per tenant table: at 10,000 tenants that ran past the connect timeout,
    /// once per sub-pool. Our schemas use PostgreSQL's built-in types only.
    /// </summary>
    public static NpgsqlDataSourceBuilder DataSourceBuilder(string connectionString, string name)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString) { Name = name };
        builder.ConfigureTypeLoading(typeLoading => typeLoading.EnableTypeLoading(false));
        return builder;
    }

    /// <summary>How many sub-pools the request pool is split into when <c>Tenancy__RequestPools</c> does not say.</summary>
    public const int DefaultRequestPools = 4;

    /// <summary>The request pool's <c>Connection Lifetime</c> (seconds) when its connection string does not say.</summary>
    public const int DefaultConnectionLifetimeSeconds = 600;

    /// <summary>The request pool's <c>Connection Idle Lifetime</c> (seconds) when its connection string does not say.</summary>
    public const int DefaultConnectionIdleLifetimeSeconds = 60;

    /// <summary>The owner pool's <c>Connection Lifetime</c> and <c>Connection Idle Lifetime</c> (seconds) when its connection string does not say.</summary>
    public const int DefaultOwnerConnectionLifetimeSeconds = 30;

    /// <summary>How many statements the request pool prepares per connection when its connection string does not say.</summary>
    public const int DefaultMaxAutoPrepare = 64;

    /// <summary>
    /// How much memory (MB) a request backend may hold before it ends, when <c>Tenancy__BackendMemoryMegabytes</c> does not
    /// say: with the overshoot of one measuring step and the few MB a backend holds outside its memory contexts, under the
    /// 64 MB per backend of issue 16.
    /// </summary>
    public const int DefaultBackendMemoryMegabytes = 48;

    /// <summary>
    /// How much memory (MB, what its memory contexts hold) one backend of the request pool may hold before it ends instead
    /// of going back to the pool (docs/adr/0071); 0: no limit (always 0 under transaction pooling, where the pooler's
    /// <c>server_lifetime</c> recycles).
    /// </summary>
    public int BackendMemoryMegabytes => (int)((memoryBudget?.BytesPerBackend ?? 0) / (1024 * 1024));

    /// <summary>The owner role's connection string (migrations, provisioning).</summary>
    public string ConnectionString { get; }

    /// <summary>The owner role's pool.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>The request role's connection string with the defaults applied; each sub-pool has its share of its Max Pool Size.</summary>
    public string RequestConnectionString { get; }

    /// <summary>
    /// The request role's own pool, for its own reads (the catalog, start-up checks): with <see cref="RequestLogins"/> a
    /// pool of its own, which also takes the sessions that spill over; otherwise the first request sub-pool. Tenant
    /// sessions go through <see cref="OpenTenantConnectionAsync"/>.
    /// </summary>
    public NpgsqlDataSource RequestDataSource => requestRolePool ?? requestPoolsBySubPool[0];

    /// <summary>How many sub-pools the request pool is split into for tenant affinity (1: no tenant affinity).</summary>
    public int RequestPools => requestPoolsBySubPool.Length;

    /// <summary>
    /// The login role of each sub-pool (docs/adr/0073), or empty when the sub-pools log in as the request role: asked for
    /// by <c>Tenancy__RequestLogins</c> (on by default), and only with a separate owner (which makes them), no
    /// transaction pooler and more than one sub-pool.
    /// </summary>
    public IReadOnlyList<string> RequestLogins { get; }

    /// <summary>
    /// Why the sub-pools' logins were refused, once one was (the sub-pools then log in as the request role until the host
    /// restarts); null while they are in use or not asked for.
    /// </summary>
    public string? RequestLoginsRefused { get; private set; }

    /// <summary>Where the pools say what they changed on their own (a refused login); the other servers' pools use the catalog's.</summary>
    internal ILogger? Logger { get; }

    /// <summary>
    /// A connection of the request pool for a session of <paramref name="tenantId"/>: the one place that chooses where a
    /// tenant session is opened. It comes from the tenant's own sub-pool (its id hashed: always the same one, so each
    /// backend sees about 1/<see cref="RequestPools"/> of the schemas) while that sub-pool has a connection free; when a
    /// busy tenant or its neighbours have taken them all, from the sub-pool with the most free connections instead, so
    /// affinity never makes a request wait that the whole pool could serve (the per-tenant bound stays a quarter of the
    /// whole pool). A spilled session brings one more schema to a backend of another sub-pool, which is cheap.
    /// </summary>
    /// <remarks>
    /// With <see cref="RequestLogins"/>, a sub-pool's login can become its own tenants' roles only: a session that spills
    /// over goes to the request role's pool (<see cref="RequestDataSource"/>), and so does one asked for
    /// <paramref name="asRequestRole"/> (a login refused the tenant's role: a grant still missing).
    /// </remarks>
    public async ValueTask<NpgsqlConnection> OpenTenantConnectionAsync(Guid tenantId, bool asRequestRole = false, CancellationToken ct = default)
    {
        var index = asRequestRole && requestRolePool is not null ? requestPoolsBySubPool.Length : SubPoolFor(tenantId);
        Interlocked.Increment(ref subPoolBusy[index]);
        NpgsqlConnection connection;
        try
        {
            connection = await OpenAsync(index, ct);
        }
        catch
        {
            Interlocked.Decrement(ref subPoolBusy[index]);
            throw;
        }

        memoryBudget?.Serve(connection.ProcessID, tenantId);
        var released = 0;
        connection.StateChange += (_, change) =>
        {
            if (change.CurrentState == System.Data.ConnectionState.Closed && Interlocked.Exchange(ref released, 1) == 0)
            {
                Interlocked.Decrement(ref subPoolBusy[index]);
            }
        };
        return connection;
    }

    private async ValueTask<NpgsqlConnection> OpenAsync(int index, CancellationToken ct)
    {
        if (index == requestPoolsBySubPool.Length)
        {
            return await requestRolePool!.OpenConnectionAsync(ct);
        }

        if (requestRoleSubPools is { } fallback)
        {
            return await fallback[index].OpenConnectionAsync(ct);
        }

        try
        {
            return await requestPoolsBySubPool[index].OpenConnectionAsync(ct);
        }
        catch (PostgresException e) when (RequestLogins.Count > 0 && e.SqlState.StartsWith("28", StringComparison.Ordinal))
        {
            // A login refused (missing, another password, a pg_hba.conf that names the request role only): serve through the
            // request role, as without logins, rather than fail every tenant of this sub-pool.
            return await RefuseLogins($"{RequestLogins[index]}: {e.SqlState} {e.MessageText}")[index].OpenConnectionAsync(ct);
        }
    }

    /// <summary>
    /// From now on the sub-pools log in as the request role: their logins were refused (<paramref name="why"/>, kept in
    /// <see cref="RequestLoginsRefused"/>), which is logged as a warning.
    /// </summary>
    internal NpgsqlDataSource[] RefuseLogins(string why)
    {
        lock (loginRefusal)
        {
            if (requestRoleSubPools is null)
            {
                RequestLoginsRefused = why;
                if (Logger is not null)
                {
                    LogLoginsRefused(Logger, poolSuffix.Length == 0 ? Placement.TenantServers.Catalog : poolSuffix[1..], why);
                }

                // Named apart from the logins' pools: a pool's name labels its metrics.
                requestRoleSubPools = SubPools(requestShare, requestPoolsBySubPool.Length, logins: [], nameSuffix: "-as-request-role");
            }

            return requestRoleSubPools;
        }
    }

    /// <summary>
    /// Gives back a connection of <see cref="OpenTenantConnectionAsync"/>: to its pool, or, once its backend holds
    /// <see cref="BackendMemoryMegabytes"/> of memory, to nobody. That backend ends itself (Npgsql has no way to drop one
    /// pooled connection; a connection whose server ended it is dropped), and with it the caches it had gathered.
    /// </summary>
    internal async ValueTask CloseTenantConnectionAsync(NpgsqlConnection connection)
    {
        if (memoryBudget is not null && connection.State == ConnectionState.Open && memoryBudget.IsDue(connection.ProcessID)
            && memoryBudget.Measured(connection.ProcessID, await BackendMemoryBytesAsync(connection)))
        {
            var processId = connection.ProcessID;
            await using (var command = new NpgsqlCommand("SELECT pg_terminate_backend(pg_backend_pid())", connection))
            {
                try
                {
                    await command.ExecuteNonQueryAsync();
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.AdminShutdown)
                {
                    // The answer expected: "terminating connection due to administrator command".
                }
                catch (NpgsqlException) when (connection.State != ConnectionState.Open)
                {
                    // The backend went before its answer was read: the same outcome.
                }
            }

            memoryBudget.Ended(processId);
        }

        await connection.DisposeAsync();
    }

    /// <summary>
    /// What the memory contexts of the connection's backend hold (bytes), as the request role may read it; null when it
    /// cannot be read: the owner lacks the privilege (build/sql/roles.sql gives it) or the platform scripts predate it.
    /// </summary>
    internal static async Task<long?> BackendMemoryBytesAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("SELECT platform.backend_memory_bytes()", connection);
        try
        {
            return await command.ExecuteScalarAsync() is long bytes ? bytes : null;
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedFunction or PostgresErrorCodes.InsufficientPrivilege
                                              or PostgresErrorCodes.InvalidSchemaName)
        {
            return null;
        }
    }

    /// <summary>The sub-pool a session of <paramref name="tenantId"/> opened now would come from (see <see cref="OpenTenantConnectionAsync"/>).</summary>
    internal int SubPoolFor(Guid tenantId)
    {
        var home = SubPoolOf(tenantId, requestPoolsBySubPool.Length);
        if (subPoolSizes.Length == 1 || Volatile.Read(ref subPoolBusy[home]) < subPoolSizes[home])
        {
            return home;
        }

        if (requestRolePool is not null && Volatile.Read(ref requestRoleSubPools) is null)
        {
            // Only the request role may become any tenant's role: a session that spills over goes to its pool, if it has room.
            var shared = requestPoolsBySubPool.Length;
            return Volatile.Read(ref subPoolBusy[shared]) < subPoolSizes[shared] ? shared : home;
        }

        var (best, bestFree) = (home, 0);
        for (var i = 0; i < subPoolSizes.Length; i++)
        {
            var free = subPoolSizes[i] - Volatile.Read(ref subPoolBusy[i]);
            if (free > bestFree)
            {
                (best, bestFree) = (i, free);
            }
        }

        return best;
    }

    /// <summary>The request sub-pools, in order.</summary>
    internal IReadOnlyList<NpgsqlDataSource> RequestSubPools => requestPoolsBySubPool;

    /// <summary>Empties every request sub-pool: after a connection loss (a server restart) every pooled backend is gone.</summary>
    public void ClearRequestPools()
    {
        foreach (var pool in AllRequestPools())
        {
            pool.Clear();
        }
    }

    private IEnumerable<NpgsqlDataSource> AllRequestPools() =>
        requestPoolsBySubPool.Concat(requestRoleSubPools ?? []).Concat(requestRolePool is null ? [] : [requestRolePool]);

    /// <summary>The request role's name, granted membership of every tenant role at provisioning.</summary>
    public string RequestRole { get; }

    public bool HasSeparateOwner { get; }

    public bool TransactionPooling { get; }

    /// <summary>The request pool's size: the default per-tenant concurrency bound is a quarter of it.</summary>
    public int RequestPoolSize { get; }

    public ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken ct = default) => DataSource.OpenConnectionAsync(ct);

    public async ValueTask DisposeAsync()
    {
        foreach (var pool in AllRequestPools())
        {
            await pool.DisposeAsync();
        }

        if (HasSeparateOwner)
        {
            await DataSource.DisposeAsync();
        }
    }

    /// <summary>
    /// A tenant's sub-pool: its id mixed (SplitMix64 over both halves, so the time-ordered head of a UUIDv7 does not
    /// matter), then Jump consistent hashing, so that changing the number of sub-pools moves as few tenants as possible.
    /// Stable across processes and restarts, unlike <see cref="Guid.GetHashCode"/>.
    /// </summary>
    internal static int SubPoolOf(Guid tenantId, int pools)
    {
        if (pools <= 1)
        {
            return 0;
        }

        Span<byte> bytes = stackalloc byte[16];
        tenantId.TryWriteBytes(bytes);
        var key = Mix(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes) ^
                      Mix(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..])));
        long bucket = -1, next = 0;
        while (next < pools)
        {
            bucket = next;
            key = unchecked((key * 2862933555777941757UL) + 1);
            next = (long)((bucket + 1) * ((double)(1L << 31) / ((key >> 33) + 1)));
        }

        return (int)bucket;

        static ulong Mix(ulong z)
        {
            unchecked
            {
                z += 0x9E3779B97F4A7C15UL;
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
                return z ^ (z >> 31);
            }
        }
    }

    /// <summary>
    /// The request pool split into <paramref name="count"/> data sources whose Max Pool Sizes add up to the configured one;
    /// with <paramref name="logins"/>, each logs in as its own, and the request role's own pool takes one share more.
    /// </summary>
    private NpgsqlDataSource[] SubPools(NpgsqlConnectionStringBuilder request, int count, IReadOnlyList<string> logins, string nameSuffix = "")
    {
        var pools = new NpgsqlDataSource[count];
        for (var i = 0; i < count; i++)
        {
            var share = Share(request, subPoolSizes.Length, i);
            if (logins.Count > 0)
            {
                share.Username = logins[i];
            }

            pools[i] = Pool(share.ConnectionString, (count == 1 ? "requests" : $"requests-{i}") + nameSuffix);
        }

        return pools;
    }

    private static NpgsqlConnectionStringBuilder Share(NpgsqlConnectionStringBuilder request, int shares, int i) =>
        new(request.ConnectionString)
        {
            MaxPoolSize = (request.MaxPoolSize / shares) + (i < request.MaxPoolSize % shares ? 1 : 0),
            MinPoolSize = (request.MinPoolSize / shares) + (i < request.MinPoolSize % shares ? 1 : 0),
        };

    private NpgsqlDataSource Pool(string connectionString, string name)
    {
        var builder = DataSourceBuilder(connectionString, name + poolSuffix);
        if (memoryBudget is { } budget)
        {
            builder.UsePhysicalConnectionInitializer(
                connection => budget.Started(connection.ProcessID),
                connection =>
                {
                    budget.Started(connection.ProcessID);
                    return Task.CompletedTask;
                });
        }

        return builder.Build();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message =
        "The request sub-pools' own logins on server {Server} were refused ({Refused}): its tenants are served through the request role, whose backends each list all of its tenant roles on their first SET ROLE (docs/adr/0073). Allow those roles in pg_hba.conf as the request role is, or set Tenancy__RequestLogins=false.")]
    private static partial void LogLoginsRefused(ILogger logger, string server, string refused);

    private static BackendMemoryBudget? MemoryBudgetOf(int? backendMemoryMegabytes, bool transactionPooling, int poolSize)
    {
        if (backendMemoryMegabytes < 0)
        {
            throw new InvalidOperationException(
                $"{TenancyOptions.Section}__{nameof(TenancyOptions.BackendMemoryMegabytes)} is {backendMemoryMegabytes}: it must be 0 (no limit) or more.");
        }

        // Behind a transaction pooler a host connection is no backend of its own: the pooler's server_lifetime recycles.
        var limit = transactionPooling ? 0 : backendMemoryMegabytes ?? DefaultBackendMemoryMegabytes;
        return limit == 0 ? null : new BackendMemoryBudget(limit * 1024L * 1024L, poolSize);
    }

    private static bool Mentions(string connectionString, string keyword)
    {
        var parsed = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        return parsed.Keys.Cast<string>().Any(key =>
            string.Equals(key.Replace(" ", string.Empty, StringComparison.Ordinal), keyword, StringComparison.OrdinalIgnoreCase));
    }

    private static NpgsqlConnectionStringBuilder Validated(string connectionString, string name, bool transactionPooling)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.Multiplexing)
        {
            // Multiplexing sends many callers' statements over one connection: a tenant's SET ROLE would reach them all.
            throw new InvalidOperationException(
                $"ConnectionStrings__{name} turns on Multiplexing: tenant sessions cannot share a connection. Remove that setting.");
        }

        // Npgsql resets every connection that returns to the pool (DISCARD ALL). Tenant settings are transaction-local, but
        // the reset is the second wall against anything a statement left behind; only behind a transaction-mode pooler,
        // which resets nothing and must not be sent DISCARD ALL, may it be turned off (docs/adr/0001, 0005).
        if (builder.NoResetOnClose && !transactionPooling)
        {
            throw new InvalidOperationException(
                $"ConnectionStrings__{name} turns off Npgsql's connection reset (No Reset On Close) while Tenancy__TransactionPooling is off: one request's session state could reach the next. Remove that setting.");
        }

        if (transactionPooling && builder.MaxAutoPrepare > 0)
        {
            throw new InvalidOperationException(
                $"ConnectionStrings__{name} sets Max Auto Prepare while Tenancy__TransactionPooling is on: a transaction-mode pooler cannot keep prepared statements. Remove that setting.");
        }

        return builder;
    }
}
