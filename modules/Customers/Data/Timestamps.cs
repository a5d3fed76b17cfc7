namespace Monolith.Customers.Data;

internal static class Timestamps
{
    /// <summary>
    /// updated_at of a change written by SaveChanges, which cannot say <c>now()</c>: the host's UTC clock cut to
    /// PostgreSQL's microseconds, so the value answered is the value stored and read back later.
    /// </summary>
    public static DateTime Now()
    {
        var now = DateTime.UtcNow;
        return now.AddTicks(-(now.Ticks % (TimeSpan.TicksPerMillisecond / 1000)));
    }
}
