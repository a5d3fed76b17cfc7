using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Telemetry;
using Monolith.Tenancy;

namespace Monolith.Auditing.Trail;

/// <summary>
/// <c>monolith.audit.anchor.lag</c>: seconds since the start of the last completed anchoring pass, which bounds the age of
/// any record not yet anchored (CONTRACT §5 promises <c>Auditing:AnchorSeconds</c>). One row read, cached; no value before
/// the first pass.
/// </summary>
internal sealed class AnchoringLagGauge : ITelemetrySource
{
    private readonly CachedReading<double[]> lag;

    public AnchoringLagGauge(IMeterFactory meters, PlatformDatabase database, IOptions<TelemetryOptions> telemetry)
    {
        lag = new CachedReading<double[]>(ct => ReadAsync(database, ct), TimeSpan.FromSeconds(Math.Max(1, telemetry.Value.GaugeCacheSeconds)));
        meters.Create(AuditingModule.MeterName).CreateObservableGauge(
            "monolith.audit.anchor.lag",
            () => lag.Current is [var seconds] ? [new Measurement<double>(seconds)] : Array.Empty<Measurement<double>>(),
            "s",
            "Seconds since the last completed anchoring pass began: no audit record older than this is unanchored");
    }

    private static async Task<double[]> ReadAsync(PlatformDatabase database, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            "SELECT extract(epoch FROM now() - started_at)::float8 FROM platform.audit_anchor_runs");
        return await command.ExecuteScalarAsync(ct) is double seconds ? [Math.Max(0, seconds)] : [];
    }
}
