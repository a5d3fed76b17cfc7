using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.Access.Sessions;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;

namespace Monolith.Access.Me;

internal sealed record SessionResponse(Guid Id, DateTimeOffset CreatedAt, DateTimeOffset LastUsedAt, bool Current);

internal sealed record SessionsResponse(List<SessionResponse> Items);

/// <summary><c>GET /me/sessions</c> (the caller's live sessions, newest first) and <c>DELETE /me/sessions/{id}</c> (ends one: its refresh and access tokens).</summary>
internal static class MySessions
{
    /// <summary>A user has as many sessions as live logins; more than this many are not listed (the oldest).</summary>
    private const int Listed = 200;

    public static async Task<Results<Ok<SessionsResponse>, ProblemHttpResult>> ListAsync(HttpContext http, AccessDatabase database, CancellationToken ct)
    {
        if (Actor.UserId(http.User) is not { } userId)
        {
            return MeEndpoints.NotSignedIn();
        }

        var current = MeEndpoints.SessionId(http.User);
        await using var unit = await database.BeginAsync(ct);
        var sessions = await unit.Db.Sessions
            .Where(s => s.UserId == userId && s.EndedAt == null && s.ExpiresAt > DateTimeOffset.UtcNow)
            .OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.Id).Take(Listed)
            .Select(s => new SessionResponse(s.Id, s.CreatedAt, s.LastUsedAt, s.Id == current))
            .ToListAsync(ct);

        await unit.CommitAsync(ct);
        return TypedResults.Ok(new SessionsResponse(sessions));
    }

    /// <summary>204; another user's session, or one that has ended, is 404 (like an id that never existed).</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> EndAsync(
        Guid id, HttpContext http, AccessDatabase database, CurrentUsers users, TenantContext tenants, CancellationToken ct)
    {
        if (Actor.UserId(http.User) is not { } userId)
        {
            return MeEndpoints.NotSignedIn();
        }

        await using var unit = await database.BeginAsync(ct);
        if (!await unit.Db.EndOwnSessionAsync(userId, id, SessionEndReasons.Logout, ct))
        {
            return Problems.NotFound("You have no live session with that id.");
        }

        await unit.CommitAsync(ct);
        users.Forget(tenants.Required.Id, userId, id);
        return TypedResults.NoContent();
    }
}
