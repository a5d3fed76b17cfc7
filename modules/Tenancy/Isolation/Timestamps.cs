namespace Monolith.Tenancy.Isolation;

/// <summary>
/// Times a module writes through SaveChanges, which cannot say <c>now()</c>: the host's UTC clock cut to PostgreSQL's
/// microseconds, so the value answered is the value stored and read back later.
/// </summary>
public static class Timestamps
{
    public static DateTimeOffset Now() => Stored(DateTimeOffset.UtcNow);

    /// <summary>A time as a timestamptz column keeps it (UTC, cut to microseconds as Npgsql sends it): what an INSERT's RETURNING would answer.</summary>
    public static DateTimeOffset Stored(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return utc.AddTicks(-(utc.Ticks % (TimeSpan.TicksPerMillisecond / 1000)));
    }
}
