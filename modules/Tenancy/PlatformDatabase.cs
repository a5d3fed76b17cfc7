using Npgsql;

namespace Monolith.Tenancy;

/// <summary>
/// The host's two connection pools (docs/adr/0005).
/// <list type="bullet">
/// <item><see cref="DataSource"/>: <c>ConnectionStrings__MonolithOwner</c>, the role that owns the schemas. For platform work
/// only: provisioning, migrations, retention, jobs, logs, the catalog's writes.</item>
/// <item><see cref="RequestDataSource"/>: <c>ConnectionStrings__Monolith</c>, the request role. It owns nothing and holds no
/// privilege on tenant tables; tenant data is reached through <see cref="Isolation.TenantDatabase"/>, which becomes the
/// tenant's role for one transaction at a time.</item>
/// </list>
/// Without an owner connection string both pools use <c>ConnectionStrings__Monolith</c> (the layout before the two
/// roles); the start-up check then finds a request role that owns the schemas and says so.
/// <para>
/// The same pair of pools reaches each other server of the placement map (<see cref="Placement.TenantServers"/>): there
/// it holds tenant schemas and that server's own platform facts, never the catalog.
/// </para>
/// </summary>
public sealed class PlatformDatabase : IAsyncDisposable
{
    public PlatformDatabase(string requestConnectionString, string? ownerConnectionString, bool transactionPooling = false, string? server = null)
    {
        var request = Validated(requestConnectionString, TenancyModule.ConnectionStringName, transactionPooling);
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

        RequestConnectionString = request.ConnectionString;
        RequestRole = request.Username ?? string.Empty;
        RequestPoolSize = request.MaxPoolSize;
        ConnectionString = owner.ConnectionString;
        HasSeparateOwner = ownerConnectionString is { Length: > 0 };
        TransactionPooling = transactionPooling;
        // Named: the pool metrics (Npgsql's meter) label each pool by its name instead of its connection string; a server
        // of the placement map other than the catalog's adds its name (docs/adr/0066).
        var suffix = server is null ? string.Empty : "@" + server;
        RequestDataSource = new NpgsqlDataSourceBuilder(RequestConnectionString) { Name = "requests" + suffix }.Build();
        DataSource = HasSeparateOwner ? new NpgsqlDataSourceBuilder(ConnectionString) { Name = "owner" + suffix }.Build() : RequestDataSource;
    }

    /// <summary>How many statements the request pool prepares per connection when its connection string does not say.</summary>
    public const int DefaultMaxAutoPrepare = 64;

    /// <summary>The owner role's connection string (migrations, provisioning).</summary>
    public string ConnectionString { get; }

    /// <summary>The owner role's pool.</summary>
    public NpgsqlDataSource DataSource { get; }

    public string RequestConnectionString { get; }

    /// <summary>The request role's pool: reads the catalog itself, reaches tenant data only as a tenant role.</summary>
    public NpgsqlDataSource RequestDataSource { get; }

    /// <summary>The request role's name, granted membership of every tenant role at provisioning.</summary>
    public string RequestRole { get; }

    public bool HasSeparateOwner { get; }

    public bool TransactionPooling { get; }

    /// <summary>The request pool's size: the default per-tenant concurrency bound is a quarter of it.</summary>
    public int RequestPoolSize { get; }

    public ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken ct = default) => DataSource.OpenConnectionAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await RequestDataSource.DisposeAsync();
        if (HasSeparateOwner)
        {
            await DataSource.DisposeAsync();
        }
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
