namespace Monolith.Toggles;

public sealed class TogglesOptions
{
    public const string Section = "Toggles";

    /// <summary>How often each instance compares its cached tenants' toggle versions with the database (the fallback when a notification is lost).</summary>
    public int PollMilliseconds { get; set; } = 1000;

    /// <summary>How often each instance writes which toggles it evaluated (for the stale report).</summary>
    public int UsageFlushSeconds { get; set; } = 60;

    /// <summary>How often the recurring job (one for all instances) applies due scheduled changes: a change is late by about this much.</summary>
    public int ScheduleSeconds { get; set; } = 10;

    /// <summary>Tenants with due scheduled changes one run of that job takes (the rest are taken by the next run).</summary>
    public int ScheduleTenantsPerRun { get; set; } = 500;

    /// <summary>Pending scheduled changes allowed per toggle.</summary>
    public int MaxSchedulesPerToggle { get; set; } = 100;

    /// <summary>How often an open <c>GET /features/stream</c> sends a <c>: keep-alive</c> comment (at most 15 s, CONTRACT §5).</summary>
    public int StreamKeepAliveMilliseconds { get; set; } = 15_000;

    /// <summary>Changes queued for one stream at most; a client that falls further behind is closed (it reconnects and reads again).</summary>
    public int StreamQueueCapacity { get; set; } = 1024;
}
