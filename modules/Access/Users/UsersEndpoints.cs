using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Http.OpenApi;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Resolution;

namespace Monolith.Access.Users;

/// <summary><c>/users</c>: admin and above; finer rules (owners, escalation, last owner) in <see cref="UserRules"/>.</summary>
internal static class UsersEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var users = app.MapGroup("/users").RequireTenant().RequireAuthorization(Policies.Admin).WithTags("Users");
        users.MapGet("/", ListUsers.HandleAsync);
        users.MapPost("/", CreateUser.HandleAsync)
            .ProducesProblems(StatusCodes.Status403Forbidden, "role-escalation")
            .ProducesProblems(StatusCodes.Status409Conflict, "email-taken");
        users.MapGet("/{id:guid}", GetUser.HandleAsync).ProducesNotFound();
        users.MapPatch("/{id:guid}", UpdateUser.HandleAsync).ProducesNotFound().ProducesPreconditionFailed()
            .ProducesProblems(StatusCodes.Status403Forbidden, "owner-required", "role-escalation")
            .ProducesProblems(StatusCodes.Status409Conflict, "last-owner", "email-taken");
        users.MapDelete("/{id:guid}", DeleteUser.HandleAsync).ProducesNotFound().ProducesPreconditionFailed()
            .ProducesProblems(StatusCodes.Status403Forbidden, "owner-required")
            .ProducesProblems(StatusCodes.Status409Conflict, "last-owner");
    }

    public static ProblemHttpResult ActorGone() =>
        Problems.Unauthorized("unauthorized", "The account of this token no longer exists or is disabled.");

    /// <summary>The cached current role passed the policy; this checks the caller's row itself, inside the request's transaction.</summary>
    public static async Task<ProblemHttpResult?> CheckReaderAsync(TenantWork<AccessDbContext> unit, HttpContext http)
    {
        var actor = await Actor.LoadAsync(unit.Db, http.User, http.RequestAborted);
        return actor is null ? ActorGone()
            : Roles.IsAtLeast(actor.Role, Roles.Admin) ? null
            : Problems.Forbidden("forbidden", "Your role does not allow this operation.");
    }

    public static ProblemHttpResult NotFound() => Problems.NotFound("No user with that id exists.");
}
