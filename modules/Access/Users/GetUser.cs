using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Access.Data;

namespace Monolith.Access.Users;

/// <summary><c>GET /users/{id}</c>, with its <c>ETag</c>.</summary>
internal static class GetUser
{
    public static async Task<Results<Ok<UserResponse>, ProblemHttpResult>> HandleAsync(Guid id, HttpContext http, AccessDatabase database, CancellationToken ct)
    {
        await using var unit = await database.BeginAsync(ct);
        if (await UsersEndpoints.CheckReaderAsync(unit, http) is { } denied)
        {
            return denied;
        }

        var user = await unit.Db.Users.FindByIdAsync(id, ct);
        await unit.CommitAsync(ct);
        if (user is null)
        {
            return UsersEndpoints.NotFound();
        }

        http.Response.Headers.ETag = user.ETag;
        return TypedResults.Ok(user.ToResponse());
    }
}
