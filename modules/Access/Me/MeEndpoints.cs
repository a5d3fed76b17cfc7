using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Monolith.Access.Tokens;
using Monolith.Access.Verification;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy.Resolution;
using Monolith.SharedKernel.Http.OpenApi;

namespace Monolith.Access.Me;

/// <summary><c>/me</c>: the caller's own account, for every role.</summary>
internal static class MeEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var me = app.MapGroup("/me").RequireTenant().RequireAuthorization(Policies.Viewer).WithTags("Me");
        me.MapGet("/", GetMe.HandleAsync);
        me.MapPost("/password", ChangePassword.HandleAsync).ProducesProblems(StatusCodes.Status409Conflict, "password-changed");
        me.MapGet("/sessions", MySessions.ListAsync);
        me.MapDelete("/sessions/{id:guid}", MySessions.EndAsync).ProducesNotFound();
        me.MapPost("/verify-email", EmailVerifications.ResendAsync).ProducesProblems(StatusCodes.Status409Conflict, "email-verified");
        me.MapPost("/transfer-ownership", TransferOwnership.HandleAsync).RequireAuthorization(Policies.Owner)
            .ProducesNotFound()
            .ProducesProblems(StatusCodes.Status403Forbidden, "owner-required")
            .ProducesProblems(StatusCodes.Status409Conflict, "user-disabled");
    }

    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult NotSignedIn() =>
        SharedKernel.Http.Problems.Unauthorized("unauthorized", "A valid bearer access token is required.");

    public static Guid? SessionId(ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirst(AccessClaims.Session)?.Value, out var id) ? id : null;
}
