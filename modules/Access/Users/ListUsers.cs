using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Access.Data;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Isolation;

namespace Monolith.Access.Users;

/// <summary><c>GET /users?role=&amp;status=&amp;limit=&amp;cursor=</c>, in id (creation) order.</summary>
internal static class ListUsers
{
    public static async Task<Results<Ok<Page<UserResponse>>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        string? role, string? status, string? limit, string? cursor, HttpContext http, AccessDatabase database, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ListQuery.RejectUnknownParameters(http.Request, errors, "role", "status", "limit", "cursor");
        var page = PageRequest.Parse(limit, cursor, errors);
        if (role is not null && !Roles.IsValid(role))
        {
            errors.Add("role", $"role must be one of: {string.Join(", ", Roles.All)}.");
        }

        if (status is not null && !UserStatus.All.Contains(status))
        {
            errors.Add("status", $"status must be one of: {string.Join(", ", UserStatus.All)}.");
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

        var rows = await unit.Db.Users.ListAsync(role, status, page.Cursor is null ? null : after, page.ReadCount, ct);
        await unit.CommitAsync(ct);
        return TypedResults.Ok(page.ToPage(rows, row => row.Id).Select(row => row.ToResponse()));
    }
}
