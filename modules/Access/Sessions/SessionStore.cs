using Npgsql;

namespace Monolith.Access.Sessions;

/// <summary>Why a session ended (<c>sessions.end_reason</c>).</summary>
internal static class SessionEndReasons
{
    public const string Logout = "logout";
    public const string RefreshReuse = "refresh-reuse";
    public const string Disabled = "disabled";
    public const string Password = "password";
}

/// <summary>
/// Sessions (docs/adr/0013): one per login. Its refresh tokens are one family whose id is the session's id; its access
/// tokens carry the id in <c>sid</c>. Ending a session revokes its refresh tokens in the same statement; the table's
/// trigger tells every host instance, which refuse its access tokens from then on.
/// </summary>
internal static class SessionStore
{
    /// <summary>A new session of the user with its first refresh token.</summary>
    public static async Task<(Guid SessionId, string RefreshToken)> StartAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid userId, int refreshDays, CancellationToken ct)
    {
        var sessionId = Guid.CreateVersion7();
        await using (var command = new NpgsqlCommand(
            "INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, now() + make_interval(days => $3))", connection, transaction))
        {
            command.Parameters.AddWithValue(sessionId);
            command.Parameters.AddWithValue(userId);
            command.Parameters.AddWithValue(Math.Max(1, refreshDays));
            await command.ExecuteNonQueryAsync(ct);
        }

        var refresh = await Tokens.RefreshTokens.IssueAsync(connection, transaction, userId, sessionId, refreshDays, ct);
        return (sessionId, refresh);
    }

    /// <summary>Ends one session (and its refresh tokens); nothing when it has ended already.</summary>
    public static async Task EndAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid sessionId, string reason, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            """
            WITH ended AS (
                UPDATE sessions SET ended_at = now(), end_reason = $2 WHERE id = $1 AND ended_at IS NULL RETURNING id)
            UPDATE refresh_tokens SET revoked_at = now()
            WHERE family_id IN (SELECT id FROM ended) AND revoked_at IS NULL
            """, connection, transaction);
        command.Parameters.AddWithValue(sessionId);
        command.Parameters.AddWithValue(reason);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Ends one live session of the user (and its refresh tokens); false when the user has no such live session.</summary>
    public static async Task<bool> EndOwnAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid userId, Guid sessionId, string reason, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            """
            WITH ended AS (
                UPDATE sessions SET ended_at = now(), end_reason = $3 WHERE id = $1 AND user_id = $2 AND ended_at IS NULL RETURNING id),
            revoked AS (
                UPDATE refresh_tokens SET revoked_at = now() WHERE family_id IN (SELECT id FROM ended) AND revoked_at IS NULL)
            SELECT count(*) FROM ended
            """, connection, transaction);
        command.Parameters.AddWithValue(sessionId);
        command.Parameters.AddWithValue(userId);
        command.Parameters.AddWithValue(reason);
        return (long)(await command.ExecuteScalarAsync(ct))! == 1;
    }

    /// <summary>Ends the session the presented refresh token belongs to, if it is one of this tenant's; returns it when it was live.</summary>
    public static async Task<(Guid UserId, Guid SessionId)?> EndByRefreshTokenAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string presented, string reason, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            """
            WITH ended AS (
                UPDATE sessions SET ended_at = now(), end_reason = $2
                WHERE id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1) AND ended_at IS NULL
                RETURNING id, user_id),
            revoked AS (
                UPDATE refresh_tokens SET revoked_at = now()
                WHERE family_id IN (SELECT id FROM ended) AND revoked_at IS NULL)
            SELECT user_id, id FROM ended
            """, connection, transaction);
        command.Parameters.AddWithValue(Tokens.RefreshTokens.Hash(presented));
        command.Parameters.AddWithValue(reason);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetGuid(0), reader.GetGuid(1)) : null;
    }

    /// <summary>Ends every live session of the user (disabled, new password), except <paramref name="keep"/> when given.</summary>
    public static async Task EndAllAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid userId, string reason, CancellationToken ct, Guid? keep = null)
    {
        await using var command = new NpgsqlCommand(
            """
            WITH ended AS (
                UPDATE sessions SET ended_at = now(), end_reason = $2
                WHERE user_id = $1 AND ended_at IS NULL AND ($3::uuid IS NULL OR id <> $3)
                RETURNING id)
            UPDATE refresh_tokens SET revoked_at = now()
            WHERE family_id IN (SELECT id FROM ended) AND revoked_at IS NULL
            """, connection, transaction);
        command.Parameters.AddWithValue(userId);
        command.Parameters.AddWithValue(reason);
        command.Parameters.Add(new NpgsqlParameter { Value = keep.HasValue ? keep.Value : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        await command.ExecuteNonQueryAsync(ct);
    }
}
