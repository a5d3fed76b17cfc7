using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Monolith.SharedKernel.Http;

/// <summary>
/// Turns exceptions into problem responses. A malformed request body is the client's 400 with a
/// sentence it can act on; anything else is a 500 that says nothing about our internals.
/// </summary>
internal sealed partial class ExceptionToProblemHandler(ILogger<ExceptionToProblemHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is BadHttpRequestException badRequest)
        {
            var detail = DescribeBadRequest(badRequest);
            await Problems.WriteAsync(httpContext, badRequest.StatusCode, "invalid-request", "The request is invalid.", detail);
            return true;
        }

        if (ClientAbort.Is(httpContext, exception))
        {
            return true; // the client went away; nobody to answer (ClientAbortMiddleware logs it, inside the request log)
        }

        LogUnhandled(logger, exception);
        await Problems.WriteAsync(httpContext, StatusCodes.Status500InternalServerError, "internal-error",
            "An unexpected error occurred.", "The server could not complete the request. Quote the request id when reporting it.");
        return true;
    }

    private static string DescribeBadRequest(BadHttpRequestException exception)
    {
        if (exception.InnerException is JsonException json)
        {
            var path = string.IsNullOrEmpty(json.Path) ? "$" : json.Path;
            return $"The request body is not valid for this endpoint at '{path}': an unknown member, a wrong type or malformed JSON.";
        }

        if (exception.StatusCode == StatusCodes.Status415UnsupportedMediaType)
        {
            return "The request body must be JSON (Content-Type: application/json).";
        }

        return exception.Message.Contains("body", StringComparison.OrdinalIgnoreCase)
            ? "The request body is missing or not valid JSON."
            : "A route or query parameter has an invalid value.";
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception")]
    private static partial void LogUnhandled(ILogger logger, Exception exception);
}
