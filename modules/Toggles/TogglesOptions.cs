namespace Monolith.Toggles;

public sealed class TogglesOptions
{
    public const string Section = "Toggles";

    /// <summary>How often each instance compares its cached tenants' toggle versions with the database (the fallback when a notification is lost).</summary>
    public int PollMilliseconds { get; set; } = 1000;

    /// <summary>How often each instance writes which toggles it evaluated (for the stale report).</summary>
    public int UsageFlushSeconds { get; set; } = 60;
}
