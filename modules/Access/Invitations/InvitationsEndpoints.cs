using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy.Resolution;
using Monolith.SharedKernel.Http.OpenApi;

namespace Monolith.Access.Invitations;

/// <summary><c>/invitations</c>: admin and above, except <c>/invitations/accept</c>, which takes the mail's token instead.</summary>
internal static class InvitationsEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var invitations = app.MapGroup("/invitations").RequireTenant().WithTags("Invitations");
        invitations.MapPost("/", CreateInvitation.HandleAsync).RequireAuthorization(Policies.Admin)
            .ProducesProblems(StatusCodes.Status403Forbidden, "role-escalation")
            .ProducesProblems(StatusCodes.Status409Conflict, "email-taken", "invitation-pending");
        invitations.MapPost("/bulk", BulkInvitations.HandleAsync).RequireAuthorization(Policies.Admin);
        invitations.MapGet("/", ListInvitations.HandleAsync).RequireAuthorization(Policies.Admin);
        invitations.MapDelete("/{id:guid}", CancelInvitation.HandleAsync).RequireAuthorization(Policies.Admin).ProducesNotFound()
            .ProducesProblems(StatusCodes.Status403Forbidden, "owner-required")
            .ProducesProblems(StatusCodes.Status409Conflict, "invitation-closed");
        invitations.MapPost("/{id:guid}/resend", ResendInvitation.HandleAsync).RequireAuthorization(Policies.Admin).ProducesNotFound()
            .ProducesProblems(StatusCodes.Status403Forbidden, "role-escalation")
            .ProducesProblems(StatusCodes.Status409Conflict, "invitation-closed", "email-taken", "invitation-pending");
        // Anonymous by design: the token is the credential. Counted per tenant + client address (AccessRateLimits).
        invitations.MapPost("/accept", AcceptInvitation.HandleAsync).AllowAnonymous()
            .ProducesProblems(StatusCodes.Status400BadRequest, "invalid-token")
            .ProducesProblems(StatusCodes.Status409Conflict, "email-taken");
    }

    public static ProblemHttpResult NotFound() => Problems.NotFound("No invitation with that id exists.");
}
