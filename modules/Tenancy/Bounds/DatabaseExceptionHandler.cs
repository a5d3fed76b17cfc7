using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Placement;
using Monolith.Tenancy.Resolution;

namespace Monolith.Tenancy.Bounds;

/// <summary>
/// Database failures that are not bugs: a statement past its tenant's timeout (503 query-timeout; its transaction was
/// rolled back, so nothing changed) and a server that went away (503 database-unavailable; the pool's idle connections
/// are cleared at once so they fail no further request). Registered ahead of the catch-all 500 handler.
/// </summary>
internal sealed partial class DatabaseExceptionHandler(
    PlatformDatabase database, TenantServers servers, TenantCatalog catalog, TenantCatalogCache cache, BoundsMetrics metrics,
    ILogger<DatabaseExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (httpContext.Response.HasStarted)
        {
            return false;
        }

        // A client that has gone still had its request refused by the database: that is logged as what it was (a
        // warning, a 503 in the request log), not as an unhandled 500; only the answer's body is left out.
        var clientGone = httpContext.RequestAborted.IsCancellationRequested;
        if (DatabaseFailures.IsTimeout(exception))
        {
            metrics.Refused(BoundsMetrics.QueryTimeout, Resolution.TenantTelemetry.TenantOf(httpContext));
            LogTimeout(logger, exception.GetBaseException().Message);
            await RefuseAsync(httpContext, "1", "query-timeout", "Query timeout.",
                "The request's database work ran past this tenant's time limit and was undone. Retry after the time in Retry-After.");
            return true;
        }

        if (!clientGone && DatabaseFailures.IsMissingTenantObject(exception) && await MovedAwayAsync(httpContext, cancellationToken))
        {
            // The tenant moved to another server (or is moving) while this request used the old copy, whose rights were
            // revoked (docs/adr/0066): nothing was changed there. The next request follows the catalog.
            metrics.Refused(BoundsMetrics.TenantBusy, Resolution.TenantTelemetry.TenantOf(httpContext));
            await RefuseAsync(httpContext, "1", "tenant-busy", "Tenant busy.",
                "This tenant has just moved to another database server; the request changed nothing. Retry after the time in Retry-After.");
            return true;
        }

        if (DatabaseFailures.IsConnectionLoss(exception))
        {
            // The pools of the tenant's own server, else the catalog's: another server of the map going away (or refusing
            // a login) must not empty the catalog server's pools, whose backends every other tenant would then open again.
            var failed = (TenantResolutionMiddleware.ResolvedTenant(httpContext) is { } tenant ? servers.Made(tenant.Server) : null) ?? database;
            failed.ClearRequestPools();
            failed.DataSource.Clear();
            metrics.Refused(BoundsMetrics.DatabaseUnavailable, Resolution.TenantTelemetry.TenantOf(httpContext));
            LogConnectionLoss(logger, exception.GetBaseException().Message);
            await RefuseAsync(httpContext, "2", "database-unavailable", "Service unavailable.",
                "The database could not be reached; the request's work was not completed. Retry after the time in Retry-After.");
            return true;
        }

        return false;
    }

    private static Task RefuseAsync(HttpContext httpContext, string retryAfter, string type, string title, string detail)
    {
        httpContext.Response.Headers.RetryAfter = retryAfter;
        if (httpContext.RequestAborted.IsCancellationRequested)
        {
            httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return Task.CompletedTask;
        }

        return Problems.WriteAsync(httpContext, StatusCodes.Status503ServiceUnavailable, type, title, detail);
    }

    private async Task<bool> MovedAwayAsync(HttpContext httpContext, CancellationToken ct)
    {
        if (TenantResolutionMiddleware.ResolvedTenant(httpContext) is not { } resolved)
        {
            return false;
        }

        var now = await catalog.FindAsync(resolved.Identifier, ct);
        if (now is null || (now.Server == resolved.Server && now.MovingTo is null))
        {
            return false;
        }

        cache.Invalidate(resolved.Identifier);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A tenant statement ran past its time limit: {Reason}")]
    private static partial void LogTimeout(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The database connection was lost: {Reason}")]
    private static partial void LogConnectionLoss(ILogger logger, string reason);
}
