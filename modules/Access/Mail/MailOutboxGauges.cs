using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Telemetry;
using Monolith.Tenancy;
using Monolith.Tenancy.Placement;

namespace Monolith.Access.Mail;

/// <summary>
/// The outboxes' gauges: <c>monolith.mail.outbox.depth</c> (undelivered mail), <c>monolith.mail.outbox.oldest_due_age</c>
/// (how long the oldest due mail has waited) and <c>monolith.mail.outbox.tenants</c> (tenants with undelivered mail). One
/// call of <c>monolith.mail_outbox_depth</c> (platform script 0060) per <see cref="TelemetryOptions.GaugeCacheSeconds"/>:
/// it counts only the outboxes of the tenants <c>platform.mail_due</c> names, at most <see cref="MaxTenants"/> of them
/// (the longest due), never every tenant schema (docs/adr/0060). One call on each server of the placement map, at once:
/// each keeps the outboxes and the <c>platform.mail_due</c> of the tenants placed on it (docs/adr/0066); the readings add up,
/// the oldest due mail being the oldest of all.
/// </summary>
internal sealed class MailOutboxGauges : ITelemetrySource
{
    public const int MaxTenants = 100;

    private readonly CachedReading<Reading> reading;

    public MailOutboxGauges(IMeterFactory meters, TenantServers servers, IOptions<TelemetryOptions> telemetry)
    {
        reading = new CachedReading<Reading>(ct => ReadAsync(servers, ct), TimeSpan.FromSeconds(Math.Max(1, telemetry.Value.GaugeCacheSeconds)));
        var meter = meters.Create(AccessModule.MeterName);
        meter.CreateObservableGauge("monolith.mail.outbox.depth", () => Measure(r => r.Mails), "{mail}",
            $"Undelivered mail in the outboxes of the tenants with mail due (at most {MaxTenants} tenants counted)");
        meter.CreateObservableGauge("monolith.mail.outbox.oldest_due_age", () => Measure(r => r.OldestDueSeconds), "s",
            "How long the oldest mail that is due has been waiting (0 when none is due)");
        meter.CreateObservableGauge("monolith.mail.outbox.tenants", () => Measure(r => r.Tenants), "{tenant}",
            "Tenants with undelivered mail");
    }

    private Measurement<double>[] Measure(Func<Reading, double> value) =>
        reading.Current is { } current ? [new Measurement<double>(value(current))] : [];

    /// <summary>Every server's outboxes, read at once and added up.</summary>
    internal static async Task<Reading> ReadAsync(TenantServers servers, CancellationToken ct)
    {
        var readings = await Task.WhenAll((await servers.AllAsync(ct)).Select(server => ReadAsync(server.Database, ct)));
        return new Reading(readings.Sum(r => r.Tenants), readings.Sum(r => r.Mails), readings.Max(r => r.OldestDueSeconds));
    }

    /// <summary>One server's outboxes.</summary>
    internal static async Task<Reading> ReadAsync(PlatformDatabase database, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            "SELECT tenants, mails, coalesce(extract(epoch FROM now() - oldest_due)::float8, 0) FROM monolith.mail_outbox_depth($1)");
        command.Parameters.AddWithValue(MaxTenants);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new Reading(reader.GetInt32(0), reader.GetInt64(1), Math.Max(0, reader.GetDouble(2)));
    }

    internal sealed record Reading(int Tenants, long Mails, double OldestDueSeconds);
}
