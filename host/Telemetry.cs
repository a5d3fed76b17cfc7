using Monolith.Access;
using Monolith.Auditing;
using Monolith.SharedKernel.Telemetry;
using Monolith.Tenancy;
using Monolith.Tenancy.Platform;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Monolith.Host;

/// <summary>
/// OpenTelemetry (CONTRACT §6, docs/adr/0060): metrics for <c>GET /metrics</c> (Prometheus text, platform key) and, when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, metrics and traces over OTLP. <c>Telemetry:Enabled=false</c> leaves all of it out.
/// </summary>
internal static class Telemetry
{
    public const string MetricsPath = "/metrics";

    public static void AddTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<TelemetryOptions>().Bind(builder.Configuration.GetSection(TelemetryOptions.Section));
        var options = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        if (!options.Enabled)
        {
            return;
        }

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("monolith"))
            .WithMetrics(metrics => metrics
                // ASP.NET Core's request metric (duration and count by route and status) and Kestrel's connections only:
                // AddAspNetCoreInstrumentation would also listen to routing, authentication, authorization and rate
                // limiting, four more measurements on every request (docs/BENCHMARKS.md, OpenTelemetry's cost).
                .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Diagnostics")
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation()
                // Npgsql's pools, not its per-command instruments (a histogram and counters on every statement): a
                // command's time is in its trace span.
                .AddView(instrument => instrument.Meter.Name == "Npgsql" && instrument.Name.StartsWith("db.client.operation", StringComparison.Ordinal)
                    ? MetricStreamConfiguration.Drop
                    : null)
                .AddMeter(TenancyModule.MeterName, AccessModule.MeterName, AuditingModule.MeterName)
                .AddInstrumentation(sp => sp.GetServices<ITelemetrySource>().ToArray())
                .AddPrometheusExporter());

        // Traces only go somewhere over OTLP: without an endpoint, recording spans would cost every request for nothing.
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = context => !context.Request.Path.StartsWithSegments(MetricsPath))
                .AddNpgsql());
            otel.UseOtlpExporter();
        }
    }

    /// <summary>Prometheus text at <c>/metrics</c>, behind the platform key like <c>/platform/*</c>.</summary>
    public static void MapTelemetry(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TelemetryOptions>>().Value.Enabled)
        {
            return;
        }

        app.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null, configureBranchedPipeline: branch => branch.UsePlatformKey(), optionsName: null)
            .AllowAnonymous()      // the platform key is its credential, checked in its branch; a bearer token opens nothing here
            .ExcludeFromDescription();
    }
}
