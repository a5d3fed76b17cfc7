namespace Monolith.SharedKernel.Telemetry;

/// <summary>
/// Instruments that exist only once their class is built (observable gauges over the database): a module registers the
/// class as this, and the host builds every one when it starts OpenTelemetry.
/// </summary>
public interface ITelemetrySource;
