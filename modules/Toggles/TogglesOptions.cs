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

    /// <summary>Pending scheduled changes allowed per toggle.</summary>
    public int MaxSchedulesPerToggle { get; set; } = 100;
}
