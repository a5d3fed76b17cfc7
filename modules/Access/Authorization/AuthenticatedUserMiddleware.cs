using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Monolith.Access.Tokens;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;
using Serilog.Context;

namespace Monolith.Access.Authorization;

/// <summary>
/// After tenant resolution, before authorization: a validated token is only a claim to be someone. The user's current
/// state (<see cref="CurrentUsers"/>) decides: a session that ended or a user deleted or disabled answers 401 (or, on an
/// endpoint open to anonymous callers, goes on as anonymous); otherwise the principal's role and e-mail become the
/// current ones, so every module's role policies follow the user's role as it is now, and the user becomes the
/// operation's actor (read by the audit trail) and the <c>UserId</c> of the request's log events.
/// <para>
/// Outside a tenant (platform, health, unrouted requests) a bearer token stands for nobody: the principal becomes
/// anonymous there, so no role claim of a token is ever trusted as such.
/// </para>
/// </summary>
internal sealed class AuthenticatedUserMiddleware(RequestDelegate next, CurrentUsers users, TenantContext tenants)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.User.Identity is not ClaimsIdentity { IsAuthenticated: true } identity)
        {
            await next(context);
            return;
        }

        var tenant = tenants.Current;
        CurrentUser? current = null;
        Guid userId = default;
        if (tenant is not null
            && Guid.TryParse(identity.FindFirst(AccessClaims.Subject)?.Value, out userId)
            && Guid.TryParse(identity.FindFirst(AccessClaims.Session)?.Value, out var sessionId))
        {
            current = await users.FindAsync(tenant, userId, sessionId, context.RequestAborted);
        }

        if (current is null)
        {
            if (tenant is not null && context.GetEndpoint()?.Metadata.GetMetadata<IAllowAnonymous>() is null)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await Problems.WriteAsync(context, StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized.",
                    "A valid bearer access token is required.");
                return;
            }

            context.User = new ClaimsPrincipal(new ClaimsIdentity());
            await next(context);
            return;
        }

        Replace(identity, AccessClaims.Role, current.Role);
        Replace(identity, AccessClaims.Email, current.Email);
        if (OperationContext.Current is { } operation)
        {
            operation.ActorKind = ActorKinds.User;
            operation.ActorId = userId;
            operation.ActorEmail = current.Email;
        }

        using (LogContext.PushProperty("UserId", userId))
        {
            await next(context);
        }
    }

    private static void Replace(ClaimsIdentity identity, string type, string value)
    {
        foreach (var claim in identity.FindAll(type).ToList())
        {
            identity.RemoveClaim(claim);
        }

        identity.AddClaim(new Claim(type, value));
    }
}
