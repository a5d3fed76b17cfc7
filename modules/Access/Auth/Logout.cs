using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.Access.Sessions;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;

namespace Monolith.Access.Auth;

/// <summary>
/// <c>POST /auth/logout</c>: ends the session of the refresh token: its refresh tokens and, on every instance within a
/// second, its access tokens. 204 whether or not it was live (no oracle).
/// </summary>
internal static class Logout
{
    public static async Task<Results<NoContent, ValidationProblem>> HandleAsync(
        RefreshRequest request, AccessDatabase database, TenantContext tenants, CurrentUsers users, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(request.RefreshToken) || request.RefreshToken.Length > 200)
        {
            return Problems.Validation("refreshToken", "refreshToken is required.");
        }

        await using var unit = await database.BeginAsync(ct);
        var ended = await unit.Db.EndSessionByRefreshTokenAsync(request.RefreshToken, SessionEndReasons.Logout, ct);
        await unit.CommitAsync(ct);
        if (ended is { } session)
        {
            users.Forget(tenants.Required.Id, session.UserId, session.SessionId);
        }

        return TypedResults.NoContent();
    }
}
