using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Access.Tokens;

internal enum RefreshOutcome
{
    Rotated,
    Invalid,
    Reused,
}

internal sealed record RefreshResult(RefreshOutcome Outcome, string? Token = null, Guid UserId = default, string? Email = null, string? Role = null, Guid FamilyId = default);

/// <summary>
/// Refresh tokens: 256 random bits (base64url), stored as sha256 only. A login starts a family; a refresh
/// spends its token and issues the next of the family; a spent token presented again revokes the family.
/// </summary>
internal static class RefreshTokens
{
    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public static async Task<string> IssueAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid userId, Guid familyId, int days, CancellationToken ct)
    {
        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        await using var command = new NpgsqlCommand(
            "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, now() + make_interval(days => $5))",
            connection, transaction);
        command.Parameters.AddWithValue(Guid.CreateVersion7());
        command.Parameters.AddWithValue(userId);
        command.Parameters.AddWithValue(familyId);
        command.Parameters.AddWithValue(Hash(token));
        command.Parameters.AddWithValue(Math.Max(1, days));
        await command.ExecuteNonQueryAsync(ct);
        return token;
    }

    /// <summary>Spends the presented token and issues the next of its family, in one transaction.</summary>
    public static async Task<RefreshResult> RotateAsync(TenantConnection session, string presented, int days, CancellationToken ct)
    {
        var (connection, transaction) = (session.Connection, session.Transaction);
        Guid id, userId, familyId;
        bool spentOrRevoked, expired;
        string email, role, status;
        await using (var find = new NpgsqlCommand(
            """
            SELECT t.id, t.user_id, t.family_id, (t.spent_at IS NOT NULL OR t.revoked_at IS NOT NULL), t.expires_at <= now(), u.email, u.role, u.status
            FROM refresh_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.token_hash = $1 FOR UPDATE OF t
            """, connection, transaction))
        {
            find.Parameters.AddWithValue(Hash(presented));
            await using var reader = await find.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
            {
                return new RefreshResult(RefreshOutcome.Invalid);
            }

            (id, userId, familyId, spentOrRevoked, expired) = (reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetBoolean(3), reader.GetBoolean(4));
            (email, role, status) = (reader.GetString(5), reader.GetString(6), reader.GetString(7));
        }

        if (spentOrRevoked)
        {
            await RevokeFamilyAsync(connection, transaction, familyId, ct);
            await transaction.CommitAsync(ct);
            return new RefreshResult(RefreshOutcome.Reused, UserId: userId, FamilyId: familyId);
        }

        if (expired || status != Users.UserStatus.Active)
        {
            return new RefreshResult(RefreshOutcome.Invalid);
        }

        await using (var spend = new NpgsqlCommand("UPDATE refresh_tokens SET spent_at = now() WHERE id = $1", connection, transaction))
        {
            spend.Parameters.AddWithValue(id);
            await spend.ExecuteNonQueryAsync(ct);
        }

        var next = await IssueAsync(connection, transaction, userId, familyId, days, ct);
        await transaction.CommitAsync(ct);
        return new RefreshResult(RefreshOutcome.Rotated, next, userId, email, role, familyId);
    }

    /// <summary>Revokes the family of the presented token, if it is one of ours; true when it was.</summary>
    public static async Task<bool> RevokeFamilyOfAsync(NpgsqlConnection connection, string presented, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            """
            UPDATE refresh_tokens SET revoked_at = now()
            WHERE revoked_at IS NULL AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)
            """, connection);
        command.Parameters.AddWithValue(Hash(presented));
        return await command.ExecuteNonQueryAsync(ct) > 0;
    }

    public static async Task RevokeFamilyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid familyId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL", connection, transaction);
        command.Parameters.AddWithValue(familyId);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Every live refresh token of a user (disabled, demoted, password changed).</summary>
    public static async Task RevokeUserAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid userId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", connection, transaction);
        command.Parameters.AddWithValue(userId);
        await command.ExecuteNonQueryAsync(ct);
    }
}
