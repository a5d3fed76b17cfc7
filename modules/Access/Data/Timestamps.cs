namespace Monolith.Access.Data;

internal static class Timestamps
{
    /// <summary>
    /// A time written by SaveChanges, which cannot say <c>now()</c>: the host's UTC clock cut to PostgreSQL's
    /// microseconds, so the value answered is the value stored and read back later.
    /// </summary>
    public static DateTimeOffset Now()
    {
        var now = DateTimeOffset.UtcNow;
        return now.AddTicks(-(now.Ticks % (TimeSpan.TicksPerMillisecond / 1000)));
    }
}
