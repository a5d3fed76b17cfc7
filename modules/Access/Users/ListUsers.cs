using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.Tenancy.Isolation;

namespace Monolith.Access.Users;

/// <summary><c>GET /users?role=&amp;status=&amp;limit=&amp;cursor=</c>, in id (creation) order.</summary>
internal static class ListUsers
{
    public static async Task<Results<Ok<Page<UserResponse>>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        string? role, string? status, string? limit, string? cursor, HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var page = PageRequest.Parse(limit, cursor, errors);
        if (role is not null && !Roles.IsValid(role))
        {
            errors["role"] = [$"role must be one of: {string.Join(", ", Roles.All)}."];
        }

        if (status is not null && !UserStatus.All.Contains(status))
        {
            errors["status"] = [$"status must be one of: {string.Join(", ", UserStatus.All)}."];
        }

        Guid after = default;
        if (page.Cursor is not null && !Cursor.TryDecode(page.Cursor, out after))
        {
            errors["cursor"] = [Cursor.InvalidMessage];
        }

        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        await using var unit = await database.BeginAsync(ct);
        if (await UsersEndpoints.CheckReaderAsync(unit, http) is { } denied)
        {
            return denied;
        }

        var rows = await UserStore.ListAsync(unit.Connection, unit.Transaction, role, status, page.Cursor is null ? null : after, page.Limit + 1, ct);
        await unit.CommitAsync(ct);
        var items = rows.Take(page.Limit).Select(r => r.ToResponse()).ToArray();
        var next = rows.Count > page.Limit ? Cursor.Encode(items[^1].Id) : null;
        return TypedResults.Ok(new Page<UserResponse>(items, next));
    }
}
