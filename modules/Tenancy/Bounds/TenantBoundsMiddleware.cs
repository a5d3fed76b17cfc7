using Microsoft.AspNetCore.Http;
using Monolith.SharedKernel.Http;

namespace Monolith.Tenancy.Bounds;

/// <summary>
/// Holds one of its tenant's concurrency slots for the length of a tenant request, or answers 503 tenant-busy. An endpoint
/// marked <see cref="LongLivedResponseAttribute"/> (a stream, open for hours, holding no connection) takes no slot: it
/// would hold it forever, and a tenant's streams would lock its own requests out.
/// </summary>
internal sealed class TenantBoundsMiddleware(RequestDelegate next, TenantContext tenants, TenantConcurrency concurrency, BoundsMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (tenants.Current is not { } tenant || context.GetEndpoint()?.Metadata.GetMetadata<LongLivedResponseAttribute>() is not null)
        {
            await next(context);
            return;
        }

        using var lease = await concurrency.AcquireAsync(tenant, context.RequestAborted);
        if (!lease.IsAcquired)
        {
            metrics.Refused(BoundsMetrics.TenantBusy);
            context.Response.Headers.RetryAfter = "1";
            await Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "tenant-busy", "Tenant busy.",
                "This tenant has as many requests working as it may have at once. Retry after the time in Retry-After.");
            return;
        }

        await next(context);
    }
}
