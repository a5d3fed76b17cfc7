using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Access.Data;
using Monolith.Access.Users;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Isolation;

namespace Monolith.Access.Invitations;

/// <summary><c>GET /invitations?status=&amp;limit=&amp;cursor=</c>, in creation order; <c>status</c> is the effective one (a pending invitation past its expiry is expired).</summary>
internal static class ListInvitations
{
    public static async Task<Results<Ok<Page<InvitationResponse>>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        string? status, string? limit, string? cursor, HttpContext http, AccessDatabase database, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ListQuery.RejectUnknownParameters(http.Request, errors, "status", "limit", "cursor");
        var page = PageRequest.Parse(limit, cursor, errors);
        if (status is not null && !InvitationStatus.All.Contains(status))
        {
            errors.Add("status", $"status must be one of: {string.Join(", ", InvitationStatus.All)}.");
        }

        Guid after = default;
        if (page.Cursor is not null && !Cursor.TryDecode(page.Cursor, out after))
        {
            errors.Add("cursor", Cursor.InvalidMessage);
        }

        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        await using var unit = await database.BeginAsync(ct);
        if (await UsersEndpoints.CheckReaderAsync(unit, http) is { } denied)
        {
            return denied;
        }

        var now = clock.GetUtcNow();
        var rows = await unit.Db.Invitations.ListAsync(status, page.Cursor is null ? null : after, page.ReadCount, now, ct);
        await unit.CommitAsync(ct);
        return TypedResults.Ok(page.ToPage(rows, row => row.Id).Select(row => row.ToResponse(now)));
    }
}
