using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Monolith.SharedKernel.Context;
using Serilog.Context;

namespace Monolith.SharedKernel.Http;

/// <summary>
/// Gives every request an id: the client's <c>X-Request-Id</c> when it is a sane token, a new one otherwise.
/// Echoed on the response, pushed to the log context and to the <see cref="OperationContext"/>.
/// </summary>
internal sealed class RequestIdMiddleware(RequestDelegate next)
{
    public const string HeaderName = "X-Request-Id";
    private const int MaxLength = 128;

    public async Task InvokeAsync(HttpContext context)
    {
        var requestId = Accept(context.Request.Headers[HeaderName].ToString())
            ?? Activity.Current?.TraceId.ToHexString()
            ?? Guid.CreateVersion7().ToString("N");
        context.Response.Headers[HeaderName] = requestId;
        context.TraceIdentifier = requestId;

        using var operation = OperationContext.Begin(new OperationContext { RequestId = requestId });
        using (LogContext.PushProperty("RequestId", requestId))
        {
            await next(context);
        }
    }

    /// <summary>Only letters, digits and <c>-_.:</c>, at most 128 characters: nothing that could forge a log line.</summary>
    internal static string? Accept(string value)
    {
        if (value.Length is 0 or > MaxLength)
        {
            return null;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
            {
                return null;
            }
        }

        return value;
    }
}
