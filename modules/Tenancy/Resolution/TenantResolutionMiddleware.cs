using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Http.OpenApi;
using Monolith.Tenancy.Catalog;
using Serilog.Context;

namespace Monolith.Tenancy.Resolution;

/// <summary>Marks an endpoint as tenant data: the request must resolve to one active tenant before it runs.</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false)]
public sealed class TenantScopedAttribute : Attribute;

public static class TenantEndpointExtensions
{
    /// <summary>Every endpoint in the group runs inside its request's tenant (CONTRACT §3), within its time limit (§8).</summary>
    public static TBuilder RequireTenant<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(new TenantScopedAttribute());
        builder.WithRequestTimeout(Bounds.TenantBoundsSetup.RequestTimeoutPolicy);
        // What the tenant's request path can answer before or around the endpoint, for the API document: resolution
        // (below), the per-tenant bounds and database failures (Bounds), and the rate limiter, which counts every
        // request of a resolved tenant (Access).
        builder.ProducesProblems(StatusCodes.Status400BadRequest, "tenant-required");
        builder.ProducesProblems(StatusCodes.Status401Unauthorized, "tenant-mismatch");
        builder.ProducesProblems(StatusCodes.Status403Forbidden, "tenant-suspended");
        builder.ProducesProblems(StatusCodes.Status404NotFound, "tenant-not-found");
        builder.ProducesProblems(StatusCodes.Status429TooManyRequests, "rate-limited");
        builder.ProducesProblems(StatusCodes.Status503ServiceUnavailable, "tenant-busy", "query-timeout", "request-timeout", "database-unavailable");
        return builder;
    }
}

/// <summary>
/// Resolves the tenant of a tenant-scoped request: the configured strategies in order, the first that names
/// one wins; a bearer token for another tenant (by identifier, then by the tenant's id) is refused; then the
/// catalog decides 404 / 403 / go.
/// </summary>
internal sealed class TenantResolutionMiddleware(
    RequestDelegate next,
    IReadOnlyList<ITenantResolutionStrategy> strategies,
    TenantCatalogCache cache,
    TenantContext tenantContext,
    TenantTelemetry telemetry)
{
    /// <summary>The catalog row the request was resolved with (its server, when it started), for the error handlers.</summary>
    public static TenantInfo? ResolvedTenant(HttpContext context) => TenantTelemetry.ResolvedOf(context);

    internal static void Remember(HttpContext context, TenantInfo tenant) => TenantTelemetry.Remember(context, tenant);

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<TenantScopedAttribute>() is null)
        {
            await next(context);
            return;
        }

        string? requested = null;
        foreach (var strategy in strategies)
        {
            requested = strategy.Resolve(context);
            if (requested is not null)
            {
                break;
            }
        }

        var tokenTenant = ClaimStrategy.TokenTenant(context);
        if (requested is not null && tokenTenant is not null && !string.Equals(requested, tokenTenant, StringComparison.Ordinal))
        {
            await Problems.WriteAsync(context, StatusCodes.Status401Unauthorized, "tenant-mismatch", "Unauthorized.",
                "The access token was issued for another tenant than the one this request names.");
            return;
        }

        if (requested is null)
        {
            await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, "tenant-required", "A tenant is required.",
                $"Name the tenant with the {HeaderStrategy.HeaderName} header, the host name or a bearer token.");
            return;
        }

        var tenant = TenantIdentifier.IsValid(requested) ? await cache.FindAsync(requested, context.RequestAborted) : null;
        if (tenant is null || tenant.Status is TenantStatus.Provisioning or TenantStatus.Deleted or TenantStatus.Deleting)
        {
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, "tenant-not-found", "Unknown tenant.",
                "No tenant with that identifier exists.");
            return;
        }

        // The identifier alone is not enough: a tenant deleted and then created again under the same identifier is
        // another tenant, and a token of the first must open nothing of the second.
        if (context.User.Identity?.IsAuthenticated == true && ClaimStrategy.TokenTenantId(context) != tenant.Id)
        {
            await Problems.WriteAsync(context, StatusCodes.Status401Unauthorized, "tenant-mismatch", "Unauthorized.",
                "The access token was issued for another tenant than the one this request names.");
            return;
        }

        if (tenant.Status == TenantStatus.Suspended)
        {
            await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, "tenant-suspended", "Tenant suspended.",
                "This tenant is suspended; its data cannot be reached until it is resumed.");
            return;
        }

        if (tenant.MovingTo is not null && !(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)))
        {
            context.Response.Headers.RetryAfter = "2";
            await Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "tenant-busy", "Tenant busy.",
                "This tenant is moving to another database server: its data can be read but not changed for a few seconds. Retry after the time in Retry-After.");
            return;
        }

        telemetry.Tag(context, tenant);
        using (tenantContext.Enter(tenant))
        using (LogContext.PushProperty("Tenant", tenant.Identifier))
        {
            await next(context);
        }
    }
}
