using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Monolith.SharedKernel.Http;

namespace Monolith.Tenancy.Bounds;

/// <summary>
/// Database failures that are not bugs: a statement past its tenant's timeout (503 query-timeout; its transaction was
/// rolled back, so nothing changed) and a server that went away (503 database-unavailable; the pool's idle connections
/// are cleared at once so they fail no further request). Registered ahead of the catch-all 500 handler.
/// </summary>
internal sealed partial class DatabaseExceptionHandler(PlatformDatabase database, BoundsMetrics metrics, ILogger<DatabaseExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (httpContext.RequestAborted.IsCancellationRequested || httpContext.Response.HasStarted)
        {
            return false;
        }

        if (DatabaseFailures.IsTimeout(exception))
        {
            metrics.Refused(BoundsMetrics.QueryTimeout, Resolution.TenantTelemetry.TenantOf(httpContext));
            LogTimeout(logger, exception.GetBaseException().Message);
            httpContext.Response.Headers.RetryAfter = "1";
            await Problems.WriteAsync(httpContext, StatusCodes.Status503ServiceUnavailable, "query-timeout", "Query timeout.",
                "The request's database work ran past this tenant's time limit and was undone. Retry after the time in Retry-After.");
            return true;
        }

        if (DatabaseFailures.IsConnectionLoss(exception))
        {
            database.ClearRequestPools();
            database.DataSource.Clear();
            metrics.Refused(BoundsMetrics.DatabaseUnavailable, Resolution.TenantTelemetry.TenantOf(httpContext));
            LogConnectionLoss(logger, exception.GetBaseException().Message);
            httpContext.Response.Headers.RetryAfter = "2";
            await Problems.WriteAsync(httpContext, StatusCodes.Status503ServiceUnavailable, "database-unavailable", "Service unavailable.",
                "The database could not be reached; the request's work was not completed. Retry after the time in Retry-After.");
            return true;
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A tenant statement ran past its time limit: {Reason}")]
    private static partial void LogTimeout(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The database connection was lost: {Reason}")]
    private static partial void LogConnectionLoss(ILogger logger, string reason);
}
