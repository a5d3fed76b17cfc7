using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Monolith.Access.Tokens;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;
using Monolith.Tenancy.Contracts;

namespace Monolith.Access.RateLimiting;

/// <summary>
/// Request limits per caller (CONTRACT §3), with ASP.NET Core's rate limiter, per host instance (docs/adr/0013):
/// <list type="bullet">
/// <item>anonymous requests to a tenant (<c>/auth/*</c>, <c>/invitations/accept</c>): per tenant and client address
/// (<c>LoginPermitLimit</c> per <c>LoginWindowSeconds</c>); an IPv6 client counts by its /64;</item>
/// <item>signed-in requests: per user (<c>UserPermitLimit</c> per <c>UserWindowSeconds</c>), and all signed-in
/// requests of a tenant under <c>TenantPermitLimit</c> per <c>TenantWindowSeconds</c>, a ceiling anonymous requests
/// never count against.</item>
/// </list>
/// The limiter runs after authorization: a request a policy refuses is not counted. The per-address login lockout
/// lives in the database instead (<see cref="Auth.LoginAttempts"/>), so it holds across instances.
/// </summary>
internal static class AccessRateLimits
{
    public static void Add(IServiceCollection services)
    {
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<AccessOptions>, TenantContext, ITenantRefusals>((options, access, tenants, refusals) =>
        {
            var limits = access.Value.RateLimits;
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = async (context, _) =>
            {
                refusals.Refused(ITenantRefusals.RateLimited);
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait)
                    ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds))
                    : 1;
                await WriteTooManyAsync(context.HttpContext, retryAfter);
            };

            var callers = PartitionedRateLimiter.Create<HttpContext, CallerKey>(context =>
            {
                if (tenants.Current is not { } tenant)
                {
                    return RateLimitPartition.GetNoLimiter(default(CallerKey));
                }

                if (SignedInUser(context) is { } user)
                {
                    return limits.UserPermitLimit > 0
                        ? RateLimitPartition.GetFixedWindowLimiter(new CallerKey(tenant.Id, user, null),
                            _ => Window(limits.UserPermitLimit, limits.UserWindowSeconds))
                        : RateLimitPartition.GetNoLimiter(default(CallerKey));
                }

                return RateLimitPartition.GetFixedWindowLimiter(new CallerKey(tenant.Id, Guid.Empty, ClientAddress(context.Connection.RemoteIpAddress)),
                    _ => Window(limits.LoginPermitLimit, limits.LoginWindowSeconds));
            });

            var signedInPerTenant = PartitionedRateLimiter.Create<HttpContext, Guid>(context =>
                tenants.Current is { } tenant && limits.TenantPermitLimit > 0 && SignedInUser(context) is not null
                    ? RateLimitPartition.GetFixedWindowLimiter(tenant.Id, _ => Window(limits.TenantPermitLimit, limits.TenantWindowSeconds))
                    : RateLimitPartition.GetNoLimiter(Guid.Empty));

            options.GlobalLimiter = PartitionedRateLimiter.CreateChained(callers, signedInPerTenant);
        });
    }

    public static async Task WriteTooManyAsync(HttpContext context, int retryAfterSeconds)
    {
        context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        await Problems.WriteAsync(context, StatusCodes.Status429TooManyRequests, "rate-limited", "Too many requests.",
            $"Too many requests; retry after {retryAfterSeconds} seconds.");
    }

    /// <summary>The same 429 with <c>Retry-After</c>, as an endpoint's typed result.</summary>
    public static ProblemHttpResult TooManyRequests(HttpResponse response, int retryAfterSeconds)
    {
        response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return Problems.Create(StatusCodes.Status429TooManyRequests, "rate-limited", "Too many requests.",
            $"Too many requests; retry after {retryAfterSeconds} seconds.");
    }

    /// <summary>The address a client is counted by: an IPv4 address as it is, an IPv6 address by its /64 (one subscriber's prefix).</summary>
    public static string ClientAddress(IPAddress? address)
    {
        if (address is null)
        {
            return string.Empty;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>The user of a request the current-state check let through as signed in; null for anonymous callers.</summary>
    private static Guid? SignedInUser(HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true && Guid.TryParse(context.User.FindFirst(AccessClaims.Subject)?.Value, out var id) ? id : null;

    private static FixedWindowRateLimiterOptions Window(int permits, int seconds) => new()
    {
        PermitLimit = Math.Max(1, permits),
        Window = TimeSpan.FromSeconds(Math.Max(1, seconds)),
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    /// <summary>A signed-in user of a tenant (Address null), or an anonymous client address of a tenant (User empty).</summary>
    private readonly record struct CallerKey(Guid Tenant, Guid User, string? Address);
}
