using System.Collections.Concurrent;

namespace Monolith.Tenancy.Catalog;

/// <summary>
/// Per-instance cache of catalog rows by identifier, including "no such tenant" (so unknown names do not
/// each cost a query). Entries are dropped by <see cref="CatalogChangeSubscriber"/> when any instance
/// changes the catalog, and by this instance's own writes at once.
/// </summary>
internal sealed class TenantCatalogCache(TenantCatalog catalog)
{
    private const int MaxEntries = 50_000;
    private readonly ConcurrentDictionary<string, TenantInfo?> entries = new(StringComparer.Ordinal);

    public async ValueTask<TenantInfo?> FindAsync(string identifier, CancellationToken ct)
    {
        if (entries.TryGetValue(identifier, out var cached))
        {
            return cached;
        }

        var tenant = await catalog.FindAsync(identifier, ct);
        if (entries.Count >= MaxEntries)
        {
            entries.Clear();
        }

        entries[identifier] = tenant;
        return tenant;
    }

    public void Invalidate(string identifier) => entries.TryRemove(identifier, out _);

    public void Clear() => entries.Clear();

    public int Count => entries.Count;
}
