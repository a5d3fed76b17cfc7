using Microsoft.EntityFrameworkCore;
using Monolith.Access.Data;
using Monolith.Access.Tokens;

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
/// tokens carry the id in <c>sid</c>. Ending a session revokes its refresh tokens in the same transaction; the table's
/// trigger tells every host instance, which refuse its access tokens from then on. <c>DateTimeOffset.UtcNow</c> in an
/// ExecuteUpdate is the database's <c>now()</c>.
/// </summary>
internal static class SessionStore
{
    /// <summary>A new session of the user with its first refresh token (one batch).</summary>
    public static async Task<(Guid SessionId, string RefreshToken)> StartSessionAsync(this AccessDbContext db, Guid userId, int refreshDays, CancellationToken ct)
    {
        var session = new Session { Id = Guid.CreateVersion7(), UserId = userId, ExpiresAt = RefreshTokens.ExpiryAfter(refreshDays) };
        db.Sessions.Add(session);
        var refresh = RefreshTokens.Add(db, userId, session.Id, refreshDays);
        await db.SaveChangesAsync(ct);
        return (session.Id, refresh);
    }

    /// <summary>Ends one session (and its refresh tokens); false when it had ended already.</summary>
    public static Task<bool> EndSessionAsync(this AccessDbContext db, Guid sessionId, string reason, CancellationToken ct) =>
        EndAsync(db, db.Sessions.Where(s => s.Id == sessionId), sessionId, reason, ct);

    /// <summary>Ends one live session of the user (and its refresh tokens); false when the user has no such live session.</summary>
    public static Task<bool> EndOwnSessionAsync(this AccessDbContext db, Guid userId, Guid sessionId, string reason, CancellationToken ct) =>
        EndAsync(db, db.Sessions.Where(s => s.Id == sessionId && s.UserId == userId), sessionId, reason, ct);

    /// <summary>Ends the session the presented refresh token belongs to, if it is one of this tenant's; returns it when it was live.</summary>
    public static async Task<(Guid UserId, Guid SessionId)?> EndSessionByRefreshTokenAsync(
        this AccessDbContext db, string presented, string reason, CancellationToken ct)
    {
        var hash = RefreshTokens.Hash(presented);
        var session = await db.RefreshTokens.Where(t => t.TokenHash == hash)
            .Select(t => new { t.UserId, t.FamilyId }).SingleOrDefaultAsync(ct);
        return session is not null && await db.EndSessionAsync(session.FamilyId, reason, ct) ? (session.UserId, session.FamilyId) : null;
    }

    /// <summary>Ends every live session of the user (disabled, new password), except <paramref name="keep"/> when given.</summary>
    public static async Task EndAllSessionsAsync(this AccessDbContext db, Guid userId, string reason, CancellationToken ct, Guid? keep = null)
    {
        var live = await db.Sessions.Where(s => s.UserId == userId && s.EndedAt == null && s.Id != keep).Select(s => s.Id).ToListAsync(ct);
        if (live.Count == 0)
        {
            return;
        }

        await db.Sessions.Where(s => live.Contains(s.Id) && s.EndedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.EndedAt, DateTimeOffset.UtcNow).SetProperty(x => x.EndReason, reason), ct);
        await db.RefreshTokens.Where(t => live.Contains(t.FamilyId) && t.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, DateTimeOffset.UtcNow), ct);
    }

    private static async Task<bool> EndAsync(AccessDbContext db, IQueryable<Session> session, Guid sessionId, string reason, CancellationToken ct)
    {
        var ended = await session.Where(s => s.EndedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.EndedAt, DateTimeOffset.UtcNow).SetProperty(x => x.EndReason, reason), ct);
        if (ended == 0)
        {
            return false;
        }

        await db.RefreshTokens.Where(t => t.FamilyId == sessionId && t.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, DateTimeOffset.UtcNow), ct);
        return true;
    }
}
