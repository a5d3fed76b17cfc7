using System.Collections.Concurrent;

namespace Monolith.Tenancy.Bounds;

/// <summary>
/// How much memory one PostgreSQL backend of the request pool may hold before it is ended (docs/adr/0071). A backend
/// keeps the catalog, index and compiled-function caches of every schema it has served until it ends, and PostgreSQL has
/// no setting that limits them; this budget does, whatever the number of tenants.
/// </summary>
/// <remarks>
/// Measuring is a statement (<c>platform.backend_memory_bytes()</c>), so a backend is measured only when the schemas it
/// has met since could have filled what was left of its budget, each counted at <see cref="WorstBytesPerSchema"/>: a
/// backend far below its budget is measured rarely, one close to it often, and none can pass it by more than one schema's
/// worth unless a schema costs more than that. When the backend's memory cannot be measured (the owner role lacks the
/// privilege, see build/sql/roles.sql), the estimate alone decides: the backend ends at that first measuring point.
/// <para>
/// Backends are told apart by their process id. A new physical connection starts afresh (<see cref="Started"/>), so a
/// process id the server hands out again never inherits an old count. Backends that ended without this class hearing of
/// it (recycled by Npgsql, or a lost connection) are forgotten, least recently used first, once there are more of them
/// than twice the pool can hold.
/// </para>
/// </remarks>
internal sealed class BackendMemoryBudget
{
    /// <summary>
    /// What one schema can cost a backend at worst: about 280 kB were measured with the audit trail's triggers on the write
    /// path (docs/BENCHMARKS.md, "Audit trail"); a read of customers costs about 55 kB.
    /// </summary>
    public const long WorstBytesPerSchema = 300 * 1024;

    private readonly ConcurrentDictionary<int, Backend> backends = new();
    private readonly int keep;

    public BackendMemoryBudget(long bytesPerBackend, int poolSize)
    {
        BytesPerBackend = bytesPerBackend;
        keep = Math.Max(1, poolSize);
    }

    public long BytesPerBackend { get; }

    /// <summary>A new physical connection: its backend has served no tenant yet.</summary>
    public void Started(int processId)
    {
        backends[processId] = new Backend(SchemasThatFit(BytesPerBackend));
        if (backends.Count > 2 * keep)
        {
            Forget();
        }
    }

    /// <summary>Notes that the backend <paramref name="processId"/> serves <paramref name="tenantId"/>.</summary>
    public void Serve(int processId, Guid tenantId)
    {
        var backend = backends.GetOrAdd(processId, _ => new Backend(SchemasThatFit(BytesPerBackend)));
        lock (backend)
        {
            backend.LastUsed = Environment.TickCount64;
            backend.Tenants.Add(tenantId);
        }
    }

    /// <summary>
    /// Whether the backend <paramref name="processId"/> must be measured before it goes back to the pool: the schemas it
    /// met since its last measure could, at worst, have filled its budget.
    /// </summary>
    public bool IsDue(int processId)
    {
        if (!backends.TryGetValue(processId, out var backend))
        {
            return false;
        }

        lock (backend)
        {
            return backend.Tenants.Count >= backend.MeasureAt;
        }
    }

    /// <summary>
    /// Takes the measure of the backend <paramref name="processId"/> (null: it could not be measured) and answers whether
    /// it has spent its budget and must end instead of going back to the pool. A backend kept is measured again once the
    /// schemas it meets could, at worst, fill the rest.
    /// </summary>
    public bool Measured(int processId, long? bytes)
    {
        if (bytes is not { } held || held >= BytesPerBackend)
        {
            return true;
        }

        if (backends.TryGetValue(processId, out var backend))
        {
            lock (backend)
            {
                backend.MeasureAt = backend.Tenants.Count + SchemasThatFit(BytesPerBackend - held);
            }
        }

        return false;
    }

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

    /// <summary>How many schemas at <see cref="WorstBytesPerSchema"/> fill <paramref name="bytes"/>, at least one.</summary>
    private static int SchemasThatFit(long bytes) => (int)Math.Clamp((bytes + WorstBytesPerSchema - 1) / WorstBytesPerSchema, 1, int.MaxValue);

    private void Forget()
    {
        var stale = backends.OrderBy(pair => Volatile.Read(ref pair.Value.LastUsed)).Take(backends.Count - keep).Select(pair => pair.Key).ToList();
        foreach (var processId in stale)
        {
            backends.TryRemove(processId, out _);
        }
    }

    private sealed class Backend(int measureAt)
    {
        public readonly HashSet<Guid> Tenants = [];
        public long LastUsed = Environment.TickCount64;
        public int MeasureAt = measureAt;
    }
}
