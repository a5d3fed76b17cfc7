using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;

namespace Monolith.Access.RateLimiting;

/// <summary>
/// ASP.NET Core's rate limiter, per host instance: login attempts per tenant + client IP (policy
/// <see cref="LoginPolicy"/>), and every tenant request per tenant (the global limiter). The per-account
/// limit on failed logins lives in the users table instead, so it holds across instances.
/// </summary>
internal static class AccessRateLimits
{
    public const string LoginPolicy = "access-login";

    public static void Add(IServiceCollection services)
    {
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<AccessOptions>, TenantContext>((options, access, tenants) =>
        {
            var limits = access.Value.RateLimits;
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = async (context, _) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait)
                    ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds))
                    : 1;
                await WriteTooManyAsync(context.HttpContext, retryAfter);
            };

            options.AddPolicy(LoginPolicy, context => RateLimitPartition.GetFixedWindowLimiter(
                $"{tenants.Current?.Identifier}|{context.Connection.RemoteIpAddress}",
                _ => Window(limits.LoginPermitLimit, limits.LoginWindowSeconds)));

            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(_ =>
                tenants.Current is { } tenant && limits.TenantPermitLimit > 0
                    ? RateLimitPartition.GetFixedWindowLimiter(tenant.Identifier, _ => Window(limits.TenantPermitLimit, limits.TenantWindowSeconds))
                    : RateLimitPartition.GetNoLimiter(string.Empty));
        });
    }

    public static async Task WriteTooManyAsync(HttpContext context, int retryAfterSeconds)
    {
        context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        await Problems.WriteAsync(context, StatusCodes.Status429TooManyRequests, "rate-limited", "Too many requests.",
            $"Too many requests; retry after {retryAfterSeconds} seconds.");
    }

    private static FixedWindowRateLimiterOptions Window(int permits, int seconds) => new()
    {
        PermitLimit = Math.Max(1, permits),
        Window = TimeSpan.FromSeconds(Math.Max(1, seconds)),
        QueueLimit = 0,
        AutoReplenishment = true,
    };
}

/// <summary>429 with <c>Retry-After</c>, as an endpoint result.</summary>
internal sealed class TooManyRequests(int retryAfterSeconds) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext) => AccessRateLimits.WriteTooManyAsync(httpContext, retryAfterSeconds);
}
