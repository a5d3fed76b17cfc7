namespace Monolith.SharedKernel.Caching;

/// <summary>
/// Whether a cached entry has gone unused long enough to be dropped, for caches whose periodic sweep drops idle entries.
/// The hit path only sets a flag, and reads it first, so an entry in steady use is not written on every hit. The sweep
/// turns the flag into its own time: a use counts as happening at the first sweep after it.
/// </summary>
public sealed class IdleMark
{
    private int usedSinceSweep = 1; // an entry is created for a use
    private long lastUsedTicks;

    /// <summary>The hit path: the entry was used.</summary>
    public void Used()
    {
        if (Volatile.Read(ref usedSinceSweep) == 0)
        {
            Volatile.Write(ref usedSinceSweep, 1);
        }
    }

    /// <summary>For a sweep at <paramref name="now"/>: whether the entry has gone unused for at least <paramref name="idle"/>.</summary>
    public bool IsIdle(DateTimeOffset now, TimeSpan idle)
    {
        if (Interlocked.Exchange(ref usedSinceSweep, 0) == 1)
        {
            Interlocked.Exchange(ref lastUsedTicks, now.UtcTicks);
            return false;
        }

        return now.UtcTicks - Interlocked.Read(ref lastUsedTicks) >= idle.Ticks;
    }
}
