using Microsoft.AspNetCore.Http;
using Monolith.Access.Tokens;
using Monolith.SharedKernel.Context;
using Serilog.Context;

namespace Monolith.Access.Authorization;

/// <summary>
/// After authentication: the validated token's user becomes the operation's actor (read by the audit trail)
/// and the <c>UserId</c> of every log event of the request.
/// </summary>
internal sealed class AuthenticatedUserMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.User.Identity?.IsAuthenticated != true
            || !Guid.TryParse(context.User.FindFirst(AccessClaims.Subject)?.Value, out var userId))
        {
            await next(context);
            return;
        }

        if (OperationContext.Current is { } operation)
        {
            operation.ActorKind = ActorKinds.User;
            operation.ActorId = userId;
            operation.ActorEmail = context.User.FindFirst(AccessClaims.Email)?.Value;
        }

        using (LogContext.PushProperty("UserId", userId))
        {
            await next(context);
        }
    }
}
