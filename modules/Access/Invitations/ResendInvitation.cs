using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Monolith.Access.Invitations;

/// <summary><c>POST /invitations/{id}/resend</c>: a new token and expiry, a new mail; the earlier link is dead.</summary>
internal static class ResendInvitation
{
    public static async Task<Results<Ok<InvitationResponse>, ProblemHttpResult>> HandleAsync(
        Guid id, HttpContext http, Inviter invitations, CancellationToken ct)
    {
        var (invitation, problem) = await invitations.ResendAsync(id, http.User, ct);
        return invitation is null ? problem! : TypedResults.Ok(invitation);
    }
}
