using System.Collections.Concurrent;

namespace Monolith.Tenancy.Bounds;

/// <summary>
/// How many tenant schemas one PostgreSQL backend of the request pool may serve before it is ended (docs/adr/0068). A
/// backend keeps the catalog, index and compiled-function caches of every schema it has served until it ends, and
/// PostgreSQL has no setting that limits them; this budget does, whatever the number of tenants.
/// </summary>
/// <remarks>
/// Backends are told apart by their process id. A new physical connection starts its count afresh
/// (<see cref="Started"/>), so a process id the server hands out again never inherits an old count. Counts of backends
/// that ended without this class hearing of it (recycled by Npgsql, or a lost connection) are forgotten, least
/// recently used first, once there are more of them than twice the pool can hold.
/// </remarks>
internal sealed class SchemaBudget(int schemasPerBackend, int poolSize)
{
    private readonly ConcurrentDictionary<int, Backend> backends = new();
    private readonly int keep = Math.Max(1, poolSize);

    public int SchemasPerBackend => schemasPerBackend;

    /// <summary>A new physical connection: its backend has served no tenant yet.</summary>
    public void Started(int processId)
    {
        backends[processId] = new Backend();
        if (backends.Count > 2 * keep)
        {
            Forget();
        }
    }

    /// <summary>Notes that the backend <paramref name="processId"/> serves <paramref name="tenantId"/>.</summary>
    public void Serve(int processId, Guid tenantId)
    {
        var backend = backends.GetOrAdd(processId, _ => new Backend());
        lock (backend)
        {
            backend.LastUsed = Environment.TickCount64;
            backend.Tenants.Add(tenantId);
        }
    }

    /// <summary>Whether the backend <paramref name="processId"/> has served its whole budget: it must end instead of going back to the pool.</summary>
    public bool IsSpent(int processId) => Served(processId) >= schemasPerBackend;

    /// <summary>The backend ended.</summary>
    public void Ended(int processId) => backends.TryRemove(processId, out _);

    /// <summary>How many distinct tenants the backend <paramref name="processId"/> has served (0 when it is not known).</summary>
    public int Served(int processId)
    {
        if (!backends.TryGetValue(processId, out var backend))
        {
            return 0;
        }

        lock (backend)
        {
            return backend.Tenants.Count;
        }
    }

    private void Forget()
    {
        var stale = backends.OrderBy(pair => Volatile.Read(ref pair.Value.LastUsed)).Take(backends.Count - keep).Select(pair => pair.Key).ToList();
        foreach (var processId in stale)
        {
            backends.TryRemove(processId, out _);
        }
    }

    private sealed class Backend
    {
        public readonly HashSet<Guid> Tenants = [];
        public long LastUsed = Environment.TickCount64;
    }
}
