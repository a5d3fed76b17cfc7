using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Telemetry;
using Monolith.Tenancy.Contracts;

namespace Monolith.Tenancy.Bounds;

/// <summary>
/// Requests refused by the per-tenant bounds, the rate limits and a database that went away, by reason; with
/// <c>Telemetry:TenantLabel</c>, also by tenant.
/// </summary>
internal sealed class BoundsMetrics : ITenantRefusals
{
    public const string TenantBusy = "tenant-busy";
    public const string QueryTimeout = "query-timeout";
    public const string RequestTimeout = "request-timeout";
    public const string DatabaseUnavailable = "database-unavailable";

    private readonly Counter<long> refused;
    private readonly TenantContext tenants;
    private readonly bool tenantLabel;

    public BoundsMetrics(IMeterFactory meters, TenantContext tenants, IOptions<TelemetryOptions> telemetry)
    {
        this.tenants = tenants;
        tenantLabel = telemetry.Value.TenantLabel;
        refused = meters.Create(TenancyModule.MeterName)
            .CreateCounter<long>("monolith.tenant.refused", "{request}", "Requests refused by the per-tenant bounds, the rate limits or a database outage");
    }

    public void Refused(string reason) => Refused(reason, null);

    /// <summary>A refusal outside the tenant context (the exception handler runs after the request has left it).</summary>
    public void Refused(string reason, string? tenant)
    {
        var tags = new TagList { { "reason", reason } };
        if (tenantLabel && (tenant ?? tenants.Current?.Identifier) is { } identifier)
        {
            tags.Add(Resolution.TenantTelemetry.MetricLabel, identifier);
        }

        refused.Add(1, tags);
    }
}
