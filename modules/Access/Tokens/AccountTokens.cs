using System.Buffers.Text;
using System.Security.Cryptography;
using Npgsql;

namespace Monolith.Access.Tokens;

/// <summary>What a single-use account token proves.</summary>
internal static class AccountTokenPurposes
{
    public const string PasswordReset = "password-reset";
    public const string EmailVerification = "email-verification";
}

/// <summary>
/// Single-use tokens sent by mail (password reset, e-mail verification, invitations): 256 random bits, base64url; only
/// sha256 is stored. A spent, expired, cancelled or unknown token gets one answer (<see cref="InvalidToken"/>).
/// </summary>
internal static class AccountTokens
{
    /// <summary>The longest token a request may carry: a generated one is 43 characters.</summary>
    public const int MaximumLength = 100;

    public static string New() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public static byte[] Hash(string token) => RefreshTokens.Hash(token);

    /// <summary>A new token of the user, issued and expiring by the application's clock; the user's earlier unspent tokens of the same purpose are spent (one live link at a time).</summary>
    public static async Task<string> IssueAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid userId, string purpose, string email, DateTimeOffset issuedAt, TimeSpan lifetime,
        CancellationToken ct)
    {
        var token = New();
        await using var command = new NpgsqlCommand(
            """
            WITH spent AS (
                UPDATE account_tokens SET used_at = now() WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL)
            INSERT INTO account_tokens (id, user_id, purpose, token_hash, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
            """, connection, transaction);
        command.Parameters.AddWithValue(Guid.CreateVersion7());
        command.Parameters.AddWithValue(userId);
        command.Parameters.AddWithValue(purpose);
        command.Parameters.AddWithValue(Hash(token));
        command.Parameters.AddWithValue(email);
        command.Parameters.AddWithValue(issuedAt);
        command.Parameters.AddWithValue(issuedAt + lifetime);
        await command.ExecuteNonQueryAsync(ct);
        return token;
    }

    /// <summary>
    /// Spends a live token of that purpose and returns its user and the address it was sent to; null when it is unknown,
    /// spent or expired at <paramref name="now"/>. The UPDATE's row lock makes two concurrent uses spend it once.
    /// </summary>
    public static async Task<(Guid UserId, string Email)?> SpendAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string token, string purpose, DateTimeOffset now, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            """
            UPDATE account_tokens SET used_at = now()
            WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
            RETURNING user_id, email
            """, connection, transaction);
        command.Parameters.AddWithValue(Hash(token));
        command.Parameters.AddWithValue(purpose);
        command.Parameters.AddWithValue(now);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetGuid(0), reader.GetString(1)) : null;
    }

    /// <summary>The user and address of a live token of that purpose, without spending it; null when unknown, spent or expired.</summary>
    public static async Task<(Guid UserId, string Email)?> FindLiveAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string token, string purpose, DateTimeOffset now, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            "SELECT user_id, email FROM account_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
            connection, transaction);
        command.Parameters.AddWithValue(Hash(token));
        command.Parameters.AddWithValue(purpose);
        command.Parameters.AddWithValue(now);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetGuid(0), reader.GetString(1)) : null;
    }

    /// <summary>True when the presented text can be a token at all (checked before any database work).</summary>
    public static bool IsPlausible(string? token) => !string.IsNullOrWhiteSpace(token) && token.Length <= MaximumLength;

    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult InvalidToken() =>
        SharedKernel.Http.Problems.BadRequest("invalid-token", "The link is not valid: it is unknown, expired, cancelled or used already.");
}
