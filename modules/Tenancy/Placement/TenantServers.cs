using System.Collections.Concurrent;
using Monolith.Tenancy.Catalog;

namespace Monolith.Tenancy.Placement;

/// <summary>
/// The database servers tenants are placed on (<c>platform.servers</c>, docs/adr/0066), each reached through its own
/// request and owner pools. Everything that opens a tenant's schema asks here for its server's pools; the catalog,
/// the operator trail, the tenant locks and the jobs' records stay on the catalog's server (<see cref="Catalog"/>).
/// A server's pools are made the first time a tenant of it is served, and kept until its connection strings change
/// (<see cref="RefreshAsync"/>): then new pools take over, and the old ones are disposed of once nothing can still be
/// using them.
/// </summary>
public sealed class TenantServers(PlatformDatabase catalog) : IAsyncDisposable
{
    /// <summary>The server that holds the catalog, reached through the host's configured connection strings.</summary>
    public const string Catalog = "main";

    /// <summary>
    /// How long replaced pools live on: longer than a request's statements (the bounds' timeouts) and a job pass's work
    /// on one tenant, so that what opened a connection from them finishes with it. What opens one after this fails.
    /// </summary>
    internal static readonly TimeSpan RetiredPoolsLifetime = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<string, Loaded> servers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<PlatformDatabase, Task> retired = new();
    private readonly SemaphoreSlim loading = new(1, 1);
    private readonly CancellationTokenSource disposing = new();

    private sealed record Loaded(PlatformDatabase Database, long ConnectionVersion);

    public PlatformDatabase CatalogServer => catalog;

    /// <summary>The pools of the server that holds <paramref name="tenant"/>'s schema.</summary>
    public ValueTask<PlatformDatabase> ForAsync(TenantInfo tenant, CancellationToken ct) => ForAsync(tenant.Server, ct);

    public ValueTask<PlatformDatabase> ForAsync(string server, CancellationToken ct)
    {
        if (server == Catalog)
        {
            return ValueTask.FromResult(catalog);
        }

        return servers.TryGetValue(server, out var known) ? ValueTask.FromResult(known.Database) : new ValueTask<PlatformDatabase>(LoadAsync(server, ct));
    }

    /// <summary>
    /// The pools this instance already made for <paramref name="server"/>, without reading the map: null when none were
    /// made yet. For a path that must not fail itself, such as answering another failure.
    /// </summary>
    public PlatformDatabase? Made(string server) =>
        server == Catalog ? catalog : servers.TryGetValue(server, out var known) ? known.Database : null;

    /// <summary>
    /// Makes new pools for each server in <paramref name="names"/> whose connection strings changed since its pools were
    /// made (its <c>connection_version</c>); the replaced pools retire. Returns how many servers got new pools.
    /// </summary>
    public async Task<int> RefreshAsync(IReadOnlyCollection<string> names, CancellationToken ct)
    {
        var candidates = names.Where(servers.ContainsKey).ToArray();
        if (candidates.Length == 0)
        {
            return 0;
        }

        await loading.WaitAsync(ct);
        try
        {
            var refreshed = 0;
            await using var command = catalog.DataSource.CreateCommand(
                "SELECT name, request_connection, owner_connection, connection_version FROM platform.servers WHERE name = ANY($1)");
            command.Parameters.AddWithValue(candidates);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var name = reader.GetString(0);
                if (servers.TryGetValue(name, out var known) && known.ConnectionVersion != reader.GetInt64(3))
                {
                    servers[name] = new Loaded(Open(name, reader.GetString(1), reader.GetString(2)), reader.GetInt64(3));
                    Retire(known.Database);
                    refreshed++;
                }
            }

            return refreshed;
        }
        finally
        {
            loading.Release();
        }
    }

    /// <summary>The connection version each loaded server's pools were made from.</summary>
    internal IReadOnlyDictionary<string, long> LoadedVersions => servers.ToDictionary(s => s.Key, s => s.Value.ConnectionVersion, StringComparer.Ordinal);

    /// <summary>Every server of the map, the catalog's first: what per-server work (listeners, due-work passes) visits.</summary>
    public async Task<IReadOnlyList<(string Name, PlatformDatabase Database)>> AllAsync(CancellationToken ct)
    {
        var names = new List<string>();
        await using (var command = catalog.DataSource.CreateCommand($"SELECT name FROM platform.servers WHERE name <> '{Catalog}' ORDER BY name"))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                names.Add(reader.GetString(0));
            }
        }

        var all = new List<(string, PlatformDatabase)>(names.Count + 1) { (Catalog, catalog) };
        foreach (var name in names)
        {
            all.Add((name, await ForAsync(name, ct)));
        }

        return all;
    }

    private async Task<PlatformDatabase> LoadAsync(string server, CancellationToken ct)
    {
        await loading.WaitAsync(ct);
        try
        {
            if (servers.TryGetValue(server, out var known))
            {
                return known.Database;
            }

            await using var command = catalog.DataSource.CreateCommand(
                "SELECT request_connection, owner_connection, connection_version FROM platform.servers WHERE name = $1");
            command.Parameters.AddWithValue(server);
            await using var reader = await command.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
            {
                throw new InvalidOperationException($"Database server '{server}' is not in the placement map (platform.servers).");
            }

            var database = Open(server, reader.GetString(0), reader.GetString(1));
            servers[server] = new Loaded(database, reader.GetInt64(2));
            return database;
        }
        finally
        {
            loading.Release();
        }
    }

    private PlatformDatabase Open(string server, string requestConnection, string ownerConnection) =>
        new(requestConnection, ownerConnection, catalog.TransactionPooling, catalog.RequestPools, server, catalog.BackendMemoryMegabytes,
            requestLogins: catalog.RequestLogins.Count > 0, logger: catalog.Logger);

    private void Retire(PlatformDatabase database)
    {
        retired[database] = Task.Run(async () =>
        {
            await Task.Delay(RetiredPoolsLifetime, disposing.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            retired.TryRemove(database, out _);
            await database.DisposeAsync();
        });
    }

    public async ValueTask DisposeAsync()
    {
        await disposing.CancelAsync();
        await Task.WhenAll(retired.Values);
        foreach (var loaded in servers.Values)
        {
            await loaded.Database.DisposeAsync();
        }

        servers.Clear();
        loading.Dispose();
        disposing.Dispose();
    }
}
