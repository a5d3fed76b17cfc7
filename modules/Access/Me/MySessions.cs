using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Access.Authorization;
using Monolith.Access.Sessions;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;
using Monolith.Tenancy.Isolation;

namespace Monolith.Access.Me;

internal sealed record SessionResponse(Guid Id, DateTimeOffset CreatedAt, DateTimeOffset LastUsedAt, bool Current);

internal sealed record SessionsResponse(List<SessionResponse> Items);

/// <summary><c>GET /me/sessions</c> (the caller's live sessions, newest first) and <c>DELETE /me/sessions/{id}</c> (ends one: its refresh and access tokens).</summary>
internal static class MySessions
{
    /// <summary>A user has as many sessions as live logins; more than this many are not listed (the oldest).</summary>
    private const int Listed = 200;

    public static async Task<Results<Ok<SessionsResponse>, ProblemHttpResult>> ListAsync(HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        if (Actor.UserId(http.User) is not { } userId)
        {
            return MeEndpoints.NotSignedIn();
        }

        var current = MeEndpoints.SessionId(http.User);
        await using var unit = await database.BeginAsync(ct);
        await using var command = unit.Command(
            """
            SELECT id, created_at, last_used_at FROM sessions
            WHERE user_id = $1 AND ended_at IS NULL AND expires_at > now()
            ORDER BY created_at DESC, id DESC LIMIT $2
            """);
        command.Parameters.AddWithValue(userId);
        command.Parameters.AddWithValue(Listed);
        var sessions = new List<SessionResponse>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var id = reader.GetGuid(0);
                sessions.Add(new SessionResponse(id, reader.GetFieldValue<DateTimeOffset>(1), reader.GetFieldValue<DateTimeOffset>(2), id == current));
            }
        }

        await unit.CommitAsync(ct);
        return TypedResults.Ok(new SessionsResponse(sessions));
    }

    /// <summary>204; another user's session, or one that has ended, is 404 (like an id that never existed).</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> EndAsync(
        Guid id, HttpContext http, TenantDatabase database, CurrentUsers users, TenantContext tenants, CancellationToken ct)
    {
        if (Actor.UserId(http.User) is not { } userId)
        {
            return MeEndpoints.NotSignedIn();
        }

        await using var unit = await database.BeginAsync(ct);
        if (!await SessionStore.EndOwnAsync(unit.Connection, unit.Transaction, userId, id, SessionEndReasons.Logout, ct))
        {
            return Problems.NotFound("You have no live session with that id.");
        }

        await unit.CommitAsync(ct);
        users.Forget(tenants.Required.Id, userId, id);
        return TypedResults.NoContent();
    }
}
