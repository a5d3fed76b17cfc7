using System.Diagnostics.Metrics;

namespace Monolith.Tenancy.Bounds;

/// <summary>Requests refused by the per-tenant bounds and by a database that went away, by reason.</summary>
internal sealed class BoundsMetrics : IDisposable
{
    public const string MeterName = "Monolith.Tenancy";
    public const string TenantBusy = "tenant-busy";
    public const string QueryTimeout = "query-timeout";
    public const string RequestTimeout = "request-timeout";
    public const string DatabaseUnavailable = "database-unavailable";

    private readonly Meter meter;
    private readonly Counter<long> refused;

    public BoundsMetrics(IMeterFactory meters)
    {
        meter = meters.Create(MeterName);
        refused = meter.CreateCounter<long>("monolith.tenant.refused", description: "Requests refused by the per-tenant bounds or a database outage");
    }

    public void Refused(string reason) => refused.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Dispose() => meter.Dispose();
}
