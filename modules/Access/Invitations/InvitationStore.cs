using Microsoft.EntityFrameworkCore;
using Monolith.Access.Data;
using Monolith.Tenancy.Isolation;

namespace Monolith.Access.Invitations;

internal static class InvitationStatus
{
    public const string Pending = "pending";
    public const string Accepted = "accepted";
    public const string Cancelled = "cancelled";
    public const string Expired = "expired";

    public static readonly IReadOnlyList<string> All = [Pending, Accepted, Cancelled, Expired];
}

internal sealed record InvitedBy(Guid? Id, string Email);

/// <summary>An invitation as the API shows it: never its token.</summary>
internal sealed record InvitationResponse(
    Guid Id, string Email, string? Name, string Role, string Status, DateTimeOffset ExpiresAt, InvitedBy InvitedBy, DateTimeOffset CreatedAt);

/// <summary>
/// The tenant's <c>invitations</c>. The status read is the effective one at the application's clock: a pending invitation
/// past its expiry reads as expired (the column catches up when the address is invited again).
/// </summary>
internal static class InvitationStore
{
    public static string EffectiveStatus(this Invitation invitation, DateTimeOffset now) =>
        invitation.Status == InvitationStatus.Pending && invitation.ExpiresAt <= now ? InvitationStatus.Expired : invitation.Status;

    public static InvitationResponse ToResponse(this Invitation invitation, DateTimeOffset now) => new(
        invitation.Id, invitation.Email, invitation.Name, invitation.Role, invitation.EffectiveStatus(now), invitation.ExpiresAt,
        new InvitedBy(invitation.InvitedById, invitation.InvitedBy), invitation.CreatedAt);

    /// <summary>The invitation locked FOR UPDATE and tracked: a change is written by SaveChanges.</summary>
    public static Task<Invitation?> FindLockedAsync(this DbSet<Invitation> invitations, Guid id, CancellationToken ct) =>
        invitations.FromSql($"SELECT * FROM invitations WHERE id = {id} FOR UPDATE").AsTracking().FirstOrNullAsync(ct);

    /// <summary>A page in id (creation) order after <paramref name="after"/>, filtered by the effective status: uuid order, which LINQ cannot say.</summary>
    public static Task<List<Invitation>> ListAsync(
        this DbSet<Invitation> invitations, string? status, Guid? after, int take, DateTimeOffset now, CancellationToken ct) =>
        invitations.FromSql(
            $"""
             SELECT * FROM invitations
             WHERE ({after}::uuid IS NULL OR id > {after})
               AND ({status}::text IS NULL
                    OR ({status} = 'pending' AND status = 'pending' AND expires_at > {now})
                    OR ({status} = 'expired' AND (status = 'expired' OR (status = 'pending' AND expires_at <= {now})))
                    OR ({status} NOT IN ('pending', 'expired') AND status = {status}))
             ORDER BY id LIMIT {take}
             """).ListAsync(ct);

    /// <summary>A new pending invitation; a pending one of the same address that has expired is marked expired first. Throws a unique violation when one is live.</summary>
    public static async Task<Invitation> InsertAsync(
        this AccessDbContext db, string email, string? name, string role, byte[] tokenHash, DateTimeOffset expiresAt, Guid invitedById, string invitedBy,
        DateTimeOffset now, CancellationToken ct)
    {
        // lower() on both sides, as the unique index on pending addresses has it (not the host's case rules).
        await db.Database.ExecuteSqlAsync(
            $"UPDATE invitations SET status = 'expired', updated_at = now() WHERE lower(email) = lower({email}) AND status = 'pending' AND expires_at <= {now}", ct);
        var invitation = new Invitation
        {
            Id = Guid.CreateVersion7(), Email = email, Name = name, Role = role, Status = InvitationStatus.Pending, TokenHash = tokenHash,
            ExpiresAt = expiresAt, InvitedById = invitedById, InvitedBy = invitedBy, SentCount = 1,
        };
        db.Invitations.Add(invitation);
        await db.SaveChangesAsync(ct);
        return invitation;
    }

    /// <summary>A new token and expiry for a locked, tracked invitation (the earlier link dies with its hash).</summary>
    public static Task RenewAsync(this AccessDbContext db, Invitation invitation, byte[] tokenHash, DateTimeOffset expiresAt, CancellationToken ct)
    {
        invitation.TokenHash = tokenHash;
        invitation.ExpiresAt = expiresAt;
        invitation.Status = InvitationStatus.Pending;
        invitation.SentCount++;
        invitation.UpdatedAt = Timestamps.Now();
        return db.SaveChangesAsync(ct);
    }

    /// <summary>A new status for a locked, tracked invitation (and the user who accepted it).</summary>
    public static Task SetStatusAsync(this AccessDbContext db, Invitation invitation, string status, Guid? acceptedUserId, CancellationToken ct)
    {
        invitation.Status = status;
        invitation.AcceptedUserId = acceptedUserId ?? invitation.AcceptedUserId;
        invitation.UpdatedAt = Timestamps.Now();
        return db.SaveChangesAsync(ct);
    }

    /// <summary>The live invitation a token belongs to; null when unknown, cancelled, used or expired.</summary>
    public static Task<Invitation?> FindLiveByTokenAsync(this DbSet<Invitation> invitations, byte[] tokenHash, DateTimeOffset now, CancellationToken ct) =>
        invitations.SingleOrDefaultAsync(i => i.TokenHash == tokenHash && i.Status == InvitationStatus.Pending && i.ExpiresAt > now, ct);

    /// <summary>As <see cref="FindLiveByTokenAsync"/>, locked FOR UPDATE and tracked.</summary>
    public static Task<Invitation?> FindLiveByTokenLockedAsync(this DbSet<Invitation> invitations, byte[] tokenHash, DateTimeOffset now, CancellationToken ct) =>
        invitations.FromSql($"SELECT * FROM invitations WHERE token_hash = {tokenHash} AND status = 'pending' AND expires_at > {now} FOR UPDATE")
            .AsTracking().FirstOrNullAsync(ct);
}
