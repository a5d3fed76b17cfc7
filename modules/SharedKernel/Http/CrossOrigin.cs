using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Monolith.SharedKernel.Http;

/// <summary>
/// CORS (CONTRACT §2): the origins of <c>Cors:AllowedOrigins</c> (none by default) may call the API from a browser.
/// ASP.NET Core's CORS middleware, placed before authentication and tenant resolution, answers their preflights with
/// the methods and request headers below and exposes the response headers below; any other origin gets no CORS
/// header at all. No credentials (cookies): the API authenticates with the Authorization header.
/// </summary>
public static class CrossOrigin
{
    public const string Section = "Cors";

    public static readonly IReadOnlyList<string> AllowedMethods = ["GET", "POST", "PUT", "PATCH", "DELETE"];

    public static readonly IReadOnlyList<string> AllowedHeaders =
        ["Authorization", "Content-Type", "X-Tenant", "If-Match", "Idempotency-Key", RequestIdMiddleware.HeaderName];

    public static readonly IReadOnlyList<string> ExposedHeaders = ["ETag", "Location", "Retry-After", RequestIdMiddleware.HeaderName];

    /// <summary>How long a browser may reuse a preflight's answer.</summary>
    public static readonly TimeSpan PreflightMaxAge = TimeSpan.FromMinutes(10);

    public static IServiceCollection AddCrossOrigin(this IServiceCollection services, IConfiguration configuration)
    {
        var origins = AllowedOrigins(configuration);
        services.AddCors(options => options.AddDefaultPolicy(policy => policy
            .WithOrigins([.. origins])
            .WithMethods([.. AllowedMethods])
            .WithHeaders([.. AllowedHeaders])
            .WithExposedHeaders([.. ExposedHeaders])
            .SetPreflightMaxAge(PreflightMaxAge)));
        return services;
    }

    /// <summary>Before authentication and tenant resolution: a preflight is answered here and goes no further.</summary>
    public static IApplicationBuilder UseCrossOrigin(this IApplicationBuilder app) => app.UseCors();

    /// <summary>
    /// The configured origins, each <c>scheme://host[:port]</c> (a trailing slash is dropped); anything else is a
    /// start-up error, so a typo cannot silently allow nothing (or everything).
    /// </summary>
    internal static IReadOnlyList<string> AllowedOrigins(IConfiguration configuration)
    {
        var origins = new List<string>();
        foreach (var child in configuration.GetSection($"{Section}:AllowedOrigins").GetChildren())
        {
            var configured = child.Value?.Trim().TrimEnd('/');
            if (string.IsNullOrEmpty(configured))
            {
                continue;
            }

            if (!Uri.TryCreate(configured, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || uri.PathAndQuery != "/" || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
            {
                throw new InvalidOperationException(
                    $"Cors__AllowedOrigins__{child.Key} is not an origin: write it as scheme://host[:port], e.g. https://app.example.com.");
            }

            origins.Add(configured);
        }

        return origins;
    }
}
