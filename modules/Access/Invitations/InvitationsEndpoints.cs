using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy.Resolution;

namespace Monolith.Access.Invitations;

/// <summary><c>/invitations</c>: admin and above, except <c>/invitations/accept</c>, which takes the mail's token instead.</summary>
internal static class InvitationsEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var invitations = app.MapGroup("/invitations").RequireTenant().WithTags("Invitations");
        invitations.MapPost("/", CreateInvitation.HandleAsync).RequireAuthorization(Policies.Admin);
        invitations.MapPost("/bulk", BulkInvitations.HandleAsync).RequireAuthorization(Policies.Admin);
        invitations.MapGet("/", ListInvitations.HandleAsync).RequireAuthorization(Policies.Admin);
        invitations.MapDelete("/{id:guid}", CancelInvitation.HandleAsync).RequireAuthorization(Policies.Admin);
        invitations.MapPost("/{id:guid}/resend", ResendInvitation.HandleAsync).RequireAuthorization(Policies.Admin);
        // Anonymous by design: the token is the credential. Counted per tenant + client address (AccessRateLimits).
        invitations.MapPost("/accept", AcceptInvitation.HandleAsync).AllowAnonymous();
    }

    public static ProblemHttpResult NotFound() => Problems.NotFound("No invitation with that id exists.");
}
