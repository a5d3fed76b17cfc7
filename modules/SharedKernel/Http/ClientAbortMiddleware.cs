using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Monolith.SharedKernel.Http;

/// <summary>
/// A client that disconnects mid-request leaves nobody to answer: the work it started is cancelled, and what that
/// throws is not a server error. Logged once at Information as a client abort, with status 499 (client closed
/// request) for the request log line; never as a 500.
/// </summary>
internal sealed partial class ClientAbortMiddleware(RequestDelegate next, ILogger<ClientAbortMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception exception) when (ClientAbort.Is(context, exception))
        {
            if (logger.IsEnabled(LogLevel.Information))
            {
                var exceptionType = exception.GetType().Name;
                LogClientAbort(logger, context.Request.Method, context.Request.Path, exceptionType);
            }
            if (!context.Response.HasStarted)
            {
                context.Response.StatusCode = StatusCodes.Status499ClientClosedRequest;
            }

            // Nothing more to write: the connection is gone.
            if (context.Features.Get<IStatusCodePagesFeature>() is { } statusCodePages)
            {
                statusCodePages.Enabled = false;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Client aborted: {RequestMethod} {RequestPath} was abandoned by the client before its answer ({ExceptionType})")]
    private static partial void LogClientAbort(ILogger logger, string requestMethod, PathString requestPath, string exceptionType);
}

public static class ClientAbort
{
    /// <summary>True when the request was aborted by its client and the exception is what that cancellation threw.</summary>
    public static bool Is(HttpContext context, Exception? exception)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.RequestAborted.IsCancellationRequested)
        {
            return false;
        }

        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is OperationCanceledException or IOException)
            {
                return true;
            }
        }

        return false;
    }
}
