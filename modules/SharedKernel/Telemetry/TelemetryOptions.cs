namespace Monolith.SharedKernel.Telemetry;

/// <summary>OpenTelemetry metrics and traces (<c>Telemetry:*</c>; docs/adr/0060).</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>Off: no OpenTelemetry at all and no <c>/metrics</c> (the benchmark's "off" host).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Adds the tenant as a <c>tenant</c> label to the request-duration metric and to the bounds' refusals. Off by default:
    /// one series per tenant and route multiplies the series by the number of tenants. Traces always carry the tenant.
    /// </summary>
    public bool TenantLabel { get; set; }

    /// <summary>How long a gauge that reads the database keeps its reading (seconds), whatever the scrape rate.</summary>
    public int GaugeCacheSeconds { get; set; } = 10;
}
