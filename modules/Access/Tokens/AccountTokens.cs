using System.Buffers.Text;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Monolith.Access.Data;
using Monolith.Tenancy.Isolation;

namespace Monolith.Access.Tokens;

/// <summary>What a single-use account token proves.</summary>
internal static class AccountTokenPurposes
{
    public const string PasswordReset = "password-reset";
    public const string EmailVerification = "email-verification";
}

/// <summary>The user a live account token names, and the address it was sent to.</summary>
internal sealed class AccountTokenProof
{
    public Guid UserId { get; init; }

    public required string Email { get; init; }
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
        AccessDbContext db, Guid userId, string purpose, string email, DateTimeOffset issuedAt, TimeSpan lifetime, CancellationToken ct)
    {
        await db.AccountTokens.Where(t => t.UserId == userId && t.Purpose == purpose && t.UsedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.UsedAt, DateTimeOffset.UtcNow), ct);
        var token = New();
        db.AccountTokens.Add(new AccountToken
        {
            Id = Guid.CreateVersion7(), UserId = userId, Purpose = purpose, TokenHash = Hash(token), Email = email,
            CreatedAt = issuedAt, ExpiresAt = issuedAt + lifetime,
        });
        await db.SaveChangesAsync(ct);
        return token;
    }

    /// <summary>
    /// Spends a live token of that purpose and returns its user and the address it was sent to; null when it is unknown,
    /// spent or expired at <paramref name="now"/>. One conditional UPDATE … RETURNING, in SQL: its row lock makes two
    /// concurrent uses spend it once.
    /// </summary>
    public static Task<AccountTokenProof?> SpendAsync(AccessDbContext db, string token, string purpose, DateTimeOffset now, CancellationToken ct)
    {
        var hash = Hash(token);
        return db.Database.SqlQuery<AccountTokenProof>(
            $"""
             UPDATE account_tokens SET used_at = now()
             WHERE token_hash = {hash} AND purpose = {purpose} AND used_at IS NULL AND expires_at > {now}
             RETURNING user_id AS "UserId", email AS "Email"
             """).FirstOrNullAsync(ct);
    }

    /// <summary>The user and address of a live token of that purpose, without spending it; null when unknown, spent or expired.</summary>
    public static Task<AccountTokenProof?> FindLiveAsync(AccessDbContext db, string token, string purpose, DateTimeOffset now, CancellationToken ct)
    {
        var hash = Hash(token);
        return db.AccountTokens.Where(t => t.TokenHash == hash && t.Purpose == purpose && t.UsedAt == null && t.ExpiresAt > now)
            .Select(t => new AccountTokenProof { UserId = t.UserId, Email = t.Email }).SingleOrDefaultAsync(ct);
    }

    /// <summary>True when the presented text can be a token at all (checked before any database work).</summary>
    public static bool IsPlausible(string? token) => !string.IsNullOrWhiteSpace(token) && token.Length <= MaximumLength;

    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult InvalidToken() =>
        SharedKernel.Http.Problems.BadRequest("invalid-token", "The link is not valid: it is unknown, expired, cancelled or used already.");
}
