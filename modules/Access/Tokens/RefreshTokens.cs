using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Monolith.Access.Sessions;
using Npgsql;

namespace Monolith.Access.Tokens;

internal enum RefreshOutcome
{
    Rotated,
    Invalid,
    Reused,
}

internal sealed record RefreshResult(
    RefreshOutcome Outcome, string? Token = null, Guid UserId = default, string? Email = null, string? Role = null, Guid SessionId = default);

/// <summary>
/// Refresh tokens: 256 random bits (base64url), stored as sha256 only. A login starts a session whose refresh tokens
/// are one family (family id = session id); a refresh spends its token and issues the next of the family; a spent
/// token presented again ends the session (the family and the session's access tokens).
/// </summary>
internal static class RefreshTokens
{
    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public static async Task<string> IssueAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid userId, Guid sessionId, int days, CancellationToken ct)
    {
        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        await using var command = new NpgsqlCommand(
            "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, now() + make_interval(days => $5))",
            connection, transaction);
        command.Parameters.AddWithValue(Guid.CreateVersion7());
        command.Parameters.AddWithValue(userId);
        command.Parameters.AddWithValue(sessionId);
        command.Parameters.AddWithValue(Hash(token));
        command.Parameters.AddWithValue(Math.Max(1, days));
        await command.ExecuteNonQueryAsync(ct);
        return token;
    }

    /// <summary>Spends the presented token and issues the next of its session, inside the caller's transaction (commit it).</summary>
    public static async Task<RefreshResult> RotateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string presented, int days, CancellationToken ct)
    {
        Guid id, userId, sessionId;
        bool spentOrRevoked, expired, live;
        string email, role;
        await using (var find = new NpgsqlCommand(
            """
            SELECT t.id, t.user_id, t.family_id, (t.spent_at IS NOT NULL OR t.revoked_at IS NOT NULL), t.expires_at <= now(),
                   u.email, u.role, u.status = 'active' AND s.ended_at IS NULL
            FROM refresh_tokens t JOIN users u ON u.id = t.user_id JOIN sessions s ON s.id = t.family_id
            WHERE t.token_hash = $1 FOR UPDATE OF t
            """, connection, transaction))
        {
            find.Parameters.AddWithValue(Hash(presented));
            await using var reader = await find.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
            {
                return new RefreshResult(RefreshOutcome.Invalid);
            }

            (id, userId, sessionId, spentOrRevoked, expired) = (reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetBoolean(3), reader.GetBoolean(4));
            (email, role, live) = (reader.GetString(5), reader.GetString(6), reader.GetBoolean(7));
        }

        if (spentOrRevoked)
        {
            // Either the client or a thief holds a copy, and we cannot tell which: the session ends for both.
            await SessionStore.EndAsync(connection, transaction, sessionId, SessionEndReasons.RefreshReuse, ct);
            return new RefreshResult(RefreshOutcome.Reused, UserId: userId, SessionId: sessionId);
        }

        if (expired || !live)
        {
            return new RefreshResult(RefreshOutcome.Invalid);
        }

        await using (var spend = new NpgsqlCommand(
            """
            WITH spent AS (UPDATE refresh_tokens SET spent_at = now() WHERE id = $1)
            UPDATE sessions SET last_used_at = now(), expires_at = now() + make_interval(days => $3) WHERE id = $2
            """, connection, transaction))
        {
            spend.Parameters.AddWithValue(id);
            spend.Parameters.AddWithValue(sessionId);
            spend.Parameters.AddWithValue(Math.Max(1, days));
            await spend.ExecuteNonQueryAsync(ct);
        }

        var next = await IssueAsync(connection, transaction, userId, sessionId, days, ct);
        return new RefreshResult(RefreshOutcome.Rotated, next, userId, email, role, sessionId);
    }
}
