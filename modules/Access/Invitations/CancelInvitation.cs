using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.Access.Users;
using Monolith.SharedKernel.Http;

namespace Monolith.Access.Invitations;

/// <summary><c>DELETE /invitations/{id}</c>: cancels a pending (or expired) invitation; its link is dead. An accepted one is 409.</summary>
internal static class CancelInvitation
{
    public static async Task<Results<NoContent, ProblemHttpResult>> HandleAsync(
        Guid id, HttpContext http, AccessDatabase database, TimeProvider clock, CancellationToken ct)
    {
        await using var unit = await database.BeginAsync(ct);
        var actor = await Actor.LoadAsync(unit.Db, http.User, ct);
        if (actor is null)
        {
            return UsersEndpoints.ActorGone();
        }

        var invitation = await unit.Db.Invitations.FindLockedAsync(id, ct);
        if (invitation is null)
        {
            return InvitationsEndpoints.NotFound();
        }

        if (!UserRules.CanGrant(actor.Role, invitation.Role))
        {
            return Problems.Forbidden("owner-required", "Only an owner can cancel an invitation to become owner.");
        }

        switch (invitation.EffectiveStatus(clock.GetUtcNow()))
        {
            case InvitationStatus.Accepted:
                return Problems.Conflict("invitation-closed", "The invitation was accepted already.");
            case InvitationStatus.Cancelled:
                return TypedResults.NoContent();
        }

        await unit.Db.SetStatusAsync(invitation, InvitationStatus.Cancelled, null, ct);
        await unit.CommitAsync(ct);
        return TypedResults.NoContent();
    }
}
