using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Monolith.Access.Data;
using Monolith.Access.Sessions;
using Monolith.Tenancy.Isolation;

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

    /// <summary>When a refresh token issued now expires (at least a day).</summary>
    public static DateTimeOffset ExpiryAfter(int days) => Timestamps.Now().AddDays(Math.Max(1, days));

    /// <summary>A new token of the session, added to the context (written by the caller's SaveChanges).</summary>
    public static string Add(AccessDbContext db, Guid userId, Guid sessionId, int days)
    {
        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        db.RefreshTokens.Add(new RefreshToken
        {
            Id = Guid.CreateVersion7(), UserId = userId, FamilyId = sessionId, TokenHash = Hash(token), ExpiresAt = ExpiryAfter(days),
        });
        return token;
    }

    /// <summary>Spends the presented token and issues the next of its session, inside the caller's transaction (commit it).</summary>
    public static async Task<RefreshResult> RotateAsync(AccessDbContext db, string presented, int days, CancellationToken ct)
    {
        // Locked (FOR UPDATE OF t): two refreshes with the same token queue here, and the second sees it spent.
        var hash = Hash(presented);
        var found = await db.Database.SqlQuery<PresentedToken>(
            $"""
             SELECT t.id AS "Id", t.user_id AS "UserId", t.family_id AS "SessionId",
                    (t.spent_at IS NOT NULL OR t.revoked_at IS NOT NULL) AS "SpentOrRevoked", t.expires_at <= now() AS "Expired",
                    u.email AS "Email", u.role AS "Role", u.status = 'active' AND s.ended_at IS NULL AS "Live"
             FROM refresh_tokens t JOIN users u ON u.id = t.user_id JOIN sessions s ON s.id = t.family_id
             WHERE t.token_hash = {hash} FOR UPDATE OF t
             """).FirstOrNullAsync(ct);
        if (found is null)
        {
            return new RefreshResult(RefreshOutcome.Invalid);
        }

        if (found.SpentOrRevoked)
        {
            // Either the client or a thief holds a copy, and we cannot tell which: the session ends for both.
            await db.EndSessionAsync(found.SessionId, SessionEndReasons.RefreshReuse, ct);
            return new RefreshResult(RefreshOutcome.Reused, UserId: found.UserId, SessionId: found.SessionId);
        }

        if (found.Expired || !found.Live)
        {
            return new RefreshResult(RefreshOutcome.Invalid);
        }

        // One statement, as before the context: the presented token is spent and its session moves on together.
        var expiresAt = ExpiryAfter(days);
        await db.Database.ExecuteSqlAsync(
            $"""
             WITH spent AS (UPDATE refresh_tokens SET spent_at = now() WHERE id = {found.Id})
             UPDATE sessions SET last_used_at = now(), expires_at = {expiresAt} WHERE id = {found.SessionId}
             """, ct);
        var next = Add(db, found.UserId, found.SessionId, days);
        await db.SaveChangesAsync(ct);
        return new RefreshResult(RefreshOutcome.Rotated, next, found.UserId, found.Email, found.Role, found.SessionId);
    }

    private sealed class PresentedToken
    {
        public Guid Id { get; init; }

        public Guid UserId { get; init; }

        public Guid SessionId { get; init; }

        public bool SpentOrRevoked { get; init; }

        public bool Expired { get; init; }

        public required string Email { get; init; }

        public required string Role { get; init; }

        public bool Live { get; init; }
    }
}
