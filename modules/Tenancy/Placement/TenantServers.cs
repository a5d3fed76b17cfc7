using System.Collections.Concurrent;
using Monolith.Tenancy.Catalog;

namespace Monolith.Tenancy.Placement;

/// <summary>
/// The database servers tenants are placed on (<c>platform.servers</c>, docs/adr/0066), each reached through its own
/// request and owner pools. Everything that opens a tenant's schema asks here for its server's pools; the catalog,
/// the operator trail, the tenant locks and the jobs' records stay on the catalog's server (<see cref="Catalog"/>).
/// A server's pools are made the first time a tenant of it is served, and kept for the life of the process.
/// </summary>
public sealed class TenantServers(PlatformDatabase catalog) : IAsyncDisposable
{
    /// <summary>The server that holds the catalog, reached through the host's configured connection strings.</summary>
    public const string Catalog = "main";

    private readonly ConcurrentDictionary<string, PlatformDatabase> servers = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim loading = new(1, 1);

    public PlatformDatabase CatalogServer => catalog;

    /// <summary>The pools of the server that holds <paramref name="tenant"/>'s schema.</summary>
    public ValueTask<PlatformDatabase> ForAsync(TenantInfo tenant, CancellationToken ct) => ForAsync(tenant.Server, ct);

    public ValueTask<PlatformDatabase> ForAsync(string server, CancellationToken ct)
    {
        if (server == Catalog)
        {
            return ValueTask.FromResult(catalog);
        }

        return servers.TryGetValue(server, out var known) ? ValueTask.FromResult(known) : new ValueTask<PlatformDatabase>(LoadAsync(server, ct));
    }

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
                return known;
            }

            await using var command = catalog.DataSource.CreateCommand(
                "SELECT request_connection, owner_connection FROM platform.servers WHERE name = $1");
            command.Parameters.AddWithValue(server);
            await using var reader = await command.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
            {
                throw new InvalidOperationException($"Database server '{server}' is not in the placement map (platform.servers).");
            }

            var database = new PlatformDatabase(
                reader.GetString(0), reader.GetString(1), catalog.TransactionPooling, catalog.RequestPools, server, catalog.BackendMemoryMegabytes);
            servers[server] = database;
            return database;
        }
        finally
        {
            loading.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var database in servers.Values)
        {
            await database.DisposeAsync();
        }

        servers.Clear();
        loading.Dispose();
    }
}
