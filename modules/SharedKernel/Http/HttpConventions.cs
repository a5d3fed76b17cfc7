using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Monolith.SharedKernel.Http;

/// <summary>The conventions of CONTRACT §2 that hold for every endpoint of every module.</summary>
public static class HttpConventions
{
    public static IServiceCollection AddHttpConventions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddCrossOrigin(configuration);
        services.Configure<JsonOptions>(options => Configure(options.SerializerOptions));
        // Bad bodies and parameters throw, so the exception handler can answer them as problems with a reason.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            problem.Extensions["traceId"] = Activity.Current?.TraceId.ToHexString() ?? context.HttpContext.TraceIdentifier;
            problem.Extensions["requestId"] = context.HttpContext.TraceIdentifier;
            problem.Detail ??= problem.Title;
        });
        services.AddExceptionHandler<ExceptionToProblemHandler>();
        return services;
    }

    /// <summary>camelCase, enums as strings, and unknown members rejected (no mass assignment).</summary>
    public static void Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
    }

    /// <summary>First of all: the request's id (X-Request-Id), which every log line of the request carries.</summary>
    public static IApplicationBuilder UseRequestId(this IApplicationBuilder app) => app.UseMiddleware<RequestIdMiddleware>();

    /// <summary>
    /// Problems for exceptions and for bare status codes (404, 405...). Inside the request log, so that its line has the
    /// status the client got (a 503 for a database refusal, say) rather than the 500 it records for any exception.
    /// </summary>
    public static IApplicationBuilder UseProblems(this IApplicationBuilder app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        return app;
    }

    /// <summary>Inside the request log: a client that disconnects mid-request is logged as a client abort (499), not as a 500.</summary>
    public static IApplicationBuilder UseClientAborts(this IApplicationBuilder app) => app.UseMiddleware<ClientAbortMiddleware>();

    /// <summary>Before anything reads the request: NUL or an unpaired surrogate in its path, query, headers or JSON body is 400.</summary>
    public static IApplicationBuilder UseUnicodeText(this IApplicationBuilder app) => app.UseMiddleware<UnicodeTextMiddleware>();
}
