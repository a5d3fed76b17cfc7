using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Monolith.Auditing.Logging;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;
using Monolith.Tenancy.Resolution;
using Scalar.AspNetCore;
using Serilog;
using Serilog.Events;

namespace Monolith.Host;

/// <summary>Logging, health, OpenAPI and the API reference page: the host's own concerns.</summary>
internal static class Observability
{
    public const string ConsoleTemplate =
        "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj} {{tenant={Tenant} user={UserId} request={RequestId}}}{NewLine}{Exception}";

    /// <summary>
    /// Serilog to the console and to PostgreSQL (<c>logs.events</c>, <c>Logging:Postgres:Enabled</c>, on by default).
    /// Masking (destructuring policy, then the masking enricher as the last enricher) applies to both sinks.
    /// </summary>
    public static void AddObservability(this WebApplicationBuilder builder)
    {
        builder.AddPostgresLogging();
        builder.Services.AddSerilog((services, logger) => logger
            .ReadFrom.Configuration(builder.Configuration)
            .ReadFrom.Services(services)
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.EntityFrameworkCore", LogEventLevel.Warning)
            .Enrich.FromLogContext()
            .Enrich.WithOperationContext()
            .MaskSecrets()
            .WriteTo.Console(outputTemplate: ConsoleTemplate, formatProvider: System.Globalization.CultureInfo.InvariantCulture)
            .WriteTo.Postgres(builder.Configuration, services.GetRequiredService<LogSinkStats>()),
            // Each host its own logger, disposed (and so flushed) with the host. Without this Serilog writes through the static
            // Log.Logger and closes it when any host stops: a second host in the process (tests, the CLI) would silence the first.
            preserveStaticLogger: true);
    }

    public static void UseObservability(this WebApplication app)
    {
        // One line per request: method, path (never the query string, which may carry secrets), status, time.
        app.UseSerilogRequestLogging(options =>
        {
            options.MessageTemplate = "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0} ms";
            options.Logger = app.Services.GetService<Serilog.ILogger>(); // this host's logger, not the static one
            // This line is written outside the pipeline steps that push the user and the tenant, so name them here:
            // the authenticated user, and the tenant the request named (a valid identifier only; it may not exist).
            options.EnrichDiagnosticContext = (diagnostics, context) =>
            {
                if (context.User.FindFirst("sub")?.Value is { } userId)
                {
                    diagnostics.Set("UserId", userId);
                }

                if (context.GetEndpoint()?.Metadata.GetMetadata<TenantScopedAttribute>() is null)
                {
                    return;
                }

                foreach (var strategy in context.RequestServices.GetRequiredService<IReadOnlyList<ITenantResolutionStrategy>>())
                {
                    if (strategy.Resolve(context) is { } tenant)
                    {
                        if (TenantIdentifier.IsValid(tenant))
                        {
                            diagnostics.Set("Tenant", tenant);
                        }

                        return;
                    }
                }
            };
            options.GetLevel = (context, _, exception) => RequestLogLevel(context, exception);
        });
    }

    /// <summary>
    /// The request line's level. A 503 is a refusal the bounds chose (tenant busy, request or query past its time limit,
    /// database unreachable: each logs its own warning, with Retry-After for the client): Warning, so Error stays for
    /// what is a bug (other 5xx, unhandled exceptions). A client abort (499, see ClientAbortMiddleware) is the client's
    /// doing: Information, like any 4xx.
    /// </summary>
    internal static LogEventLevel RequestLogLevel(HttpContext context, Exception? exception) =>
        (exception is not null && !ClientAbort.Is(context, exception)) ? LogEventLevel.Error
        : context.Response.StatusCode == StatusCodes.Status503ServiceUnavailable ? LogEventLevel.Warning
        : context.Response.StatusCode >= 500 ? LogEventLevel.Error
        : LogEventLevel.Information;

    public static void MapOperations(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") }).AllowAnonymous();
        app.MapOpenApi().AllowAnonymous();
        app.MapScalarApiReference("/docs", options => options.WithTitle("Monolith API").WithOpenApiRoutePattern("/openapi/{documentName}.json"))
            .AllowAnonymous();
        app.MapPlatformLogs();
    }
}
