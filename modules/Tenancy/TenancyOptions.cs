namespace Monolith.Tenancy;

public sealed class TenancyOptions
{
    public const string Section = "Tenancy";

    /// <summary>The order used when configuration names none.</summary>
    public static readonly IReadOnlyList<string> DefaultResolutionOrder = ["header", "host", "claim"];

    /// <summary>
    /// Strategies in the order they are asked ("header", "host", "claim"); a configured list replaces
    /// <see cref="DefaultResolutionOrder"/> (a strategy left out is off). Empty here on purpose: the configuration
    /// binder appends to an array it finds, so a default in the initializer would survive any configured order.
    /// </summary>
    public string[] ResolutionOrder { get; set; } = [];

    /// <summary>The configured order, or the default when none is configured.</summary>
    public IReadOnlyList<string> EffectiveResolutionOrder() => ResolutionOrder.Length > 0 ? ResolutionOrder : DefaultResolutionOrder;

    /// <summary>For the host strategy: a request to <c>acme.{BaseDomain}</c> is tenant <c>acme</c>. Unset: the strategy names no tenant.</summary>
    public string? BaseDomain { get; set; }

    /// <summary>How often each instance checks the catalog for changes it was not notified of.</summary>
    public int CatalogPollMilliseconds { get; set; } = 1000;

    public int DefaultAuditRetentionDays { get; set; } = 365;

    public int DefaultLogRetentionDays { get; set; } = 30;

    /// <summary>How many tenant schemas "migrate" works on at once.</summary>
    public int MigrationParallelism { get; set; } = 4;

    /// <summary>Apply the platform scripts when the host starts (cheap when current).</summary>
    public bool MigratePlatformOnStartup { get; set; } = true;
}
