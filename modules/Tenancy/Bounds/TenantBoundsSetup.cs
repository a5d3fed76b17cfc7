using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Monolith.SharedKernel.Http;

namespace Monolith.Tenancy.Bounds;

/// <summary>The per-tenant bounds of CONTRACT §8 in the host: concurrency slots, request time limit, database failures as 503.</summary>
internal static class TenantBoundsSetup
{
    public const string RequestTimeoutPolicy = "tenant";

    public static void AddTenantBounds(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TenantConcurrency>();
        builder.Services.AddOptions<SharedKernel.Telemetry.TelemetryOptions>().Bind(builder.Configuration.GetSection(SharedKernel.Telemetry.TelemetryOptions.Section));
        builder.Services.AddSingleton<BoundsMetrics>();
        builder.Services.AddSingleton<Contracts.ITenantRefusals>(sp => sp.GetRequiredService<BoundsMetrics>());

        // Ahead of the catch-all handler (which answers 500): handlers are asked in registration order.
        builder.Services.Insert(0, ServiceDescriptor.Singleton<IExceptionHandler, DatabaseExceptionHandler>());

        var timeoutMs = builder.Configuration.GetValue($"{TenancyOptions.Section}:{nameof(TenancyOptions.RequestTimeoutMs)}", new TenancyOptions().RequestTimeoutMs);
        builder.Services.AddRequestTimeouts(options => options.AddPolicy(RequestTimeoutPolicy, new Microsoft.AspNetCore.Http.Timeouts.RequestTimeoutPolicy
        {
            Timeout = TimeSpan.FromMilliseconds(timeoutMs),
            TimeoutStatusCode = StatusCodes.Status503ServiceUnavailable,
            WriteTimeoutResponse = async context =>
            {
                context.RequestServices.GetRequiredService<BoundsMetrics>().Refused(BoundsMetrics.RequestTimeout);
                context.Response.Headers.RetryAfter = "1";
                await Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "request-timeout", "Request timeout.",
                    "The request ran past its time limit and was stopped; its database work was undone. Retry after the time in Retry-After.");
            },
        }));
    }
}
