using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.SharedKernel.Http;

namespace Monolith.Access.Invitations;

internal sealed record BulkInvitationRequest(List<InvitationRequest?>? Invitations);

internal sealed record BulkInvitationResult(string? Email, int Status, Guid? Id = null, string? Title = null);

internal sealed record BulkInvitationResponse(List<BulkInvitationResult> Results);

/// <summary>
/// <c>POST /invitations/bulk</c>: up to 100 invitations, each in its own transaction with its own answer (201, 400,
/// 403, 409), in the order given. One item's refusal leaves the others as they are.
/// </summary>
internal static class BulkInvitations
{
    public const int MaximumItems = 100;

    public static async Task<Results<Ok<BulkInvitationResponse>, ValidationProblem>> HandleAsync(
        BulkInvitationRequest request, HttpContext http, Inviter invitations, CancellationToken ct)
    {
        if (request.Invitations is not { Count: > 0 and <= MaximumItems } items)
        {
            return Problems.Validation("invitations", $"invitations must hold 1 to {MaximumItems} items.");
        }

        var results = new List<BulkInvitationResult>(items.Count);
        foreach (var item in items)
        {
            var outcome = await invitations.InviteAsync(item ?? new InvitationRequest(null, null, null), http.User, ct);
            results.Add(outcome.Invitation is { } created
                ? new BulkInvitationResult(created.Email, StatusCodes.Status201Created, created.Id)
                : new BulkInvitationResult(item?.Email, outcome.Status, Title: outcome.Title));
        }

        return TypedResults.Ok(new BulkInvitationResponse(results));
    }
}
