using Microsoft.EntityFrameworkCore;
using Monolith.Access.Data;
using Monolith.Tenancy.Isolation;

namespace Monolith.Access.Users;

internal static class UserStatus
{
    public const string Active = "active";
    public const string Disabled = "disabled";

    public static readonly IReadOnlyList<string> All = [Active, Disabled];
}

/// <summary>A user as the API shows it: never the password or its hash.</summary>
internal sealed record UserResponse(
    Guid Id,
    string Email,
    string Name,
    string Role,
    string Status,
    bool EmailVerified,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? LastLoginAt);

/// <summary>The tenant's <c>users</c>, through <see cref="AccessDbContext"/>; row locks and keyset pages in SQL (docs/adr/0036).</summary>
internal static class UserStore
{
    public static Task<User?> FindByIdAsync(this DbSet<User> users, Guid id, CancellationToken ct) =>
        users.SingleOrDefaultAsync(u => u.Id == id, ct);

    /// <summary>The user locked FOR UPDATE and tracked: a change is written by SaveChanges (<see cref="Changed"/>).</summary>
    public static Task<User?> FindLockedAsync(this DbSet<User> users, Guid id, CancellationToken ct) =>
        users.FromSql($"SELECT * FROM users WHERE id = {id} FOR UPDATE").AsTracking().FirstOrNullAsync(ct);

    /// <summary>
    /// By address, case-insensitive as the unique index (lower(email)). In SQL: LINQ would lower the address on the host,
    /// whose case rules are not the database's.
    /// </summary>
    public static Task<User?> FindByEmailAsync(this DbSet<User> users, string email, CancellationToken ct) =>
        users.FromSql($"SELECT * FROM users WHERE lower(email) = lower({email})").FirstOrNullAsync(ct);

    public static Task<User?> FindByEmailLockedAsync(this DbSet<User> users, string email, CancellationToken ct) =>
        users.FromSql($"SELECT * FROM users WHERE lower(email) = lower({email}) FOR UPDATE").FirstOrNullAsync(ct);

    /// <summary>A page in id (creation) order after <paramref name="after"/>: uuid order, which LINQ cannot say.</summary>
    public static Task<List<User>> ListAsync(this DbSet<User> users, string? role, string? status, Guid? after, int take, CancellationToken ct) =>
        users.FromSql(
            $"""
             SELECT * FROM users
             WHERE ({role}::text IS NULL OR role = {role}) AND ({status}::text IS NULL OR status = {status}) AND ({after}::uuid IS NULL OR id > {after})
             ORDER BY id LIMIT {take}
             """).ListAsync(ct);

    /// <summary>Locks and returns the ids of the active owners: the lock serializes every change that could remove the last one.</summary>
    public static Task<List<Guid>> LockActiveOwnersAsync(this AccessDbContext db, CancellationToken ct) =>
        db.Database.SqlQuery<Guid>($"""SELECT id AS "Value" FROM users WHERE role = 'owner' AND status = 'active' ORDER BY id FOR UPDATE""").ListAsync(ct);

    /// <summary>A new active user (version 1); created_at and updated_at are the database's now().</summary>
    public static async Task<User> InsertAsync(
        this AccessDbContext db, string email, string name, string role, string passwordHash, bool emailVerified, CancellationToken ct, Guid? id = null)
    {
        var user = new User
        {
            Id = id ?? Guid.CreateVersion7(),
            Email = email,
            Name = name,
            Role = role,
            PasswordHash = passwordHash,
            Status = UserStatus.Active,
            EmailVerified = emailVerified,
            Version = 1,
        };
        db.Users.Add(user);
        await db.SaveChangesAsync(ct);
        return user;
    }

    /// <summary>
    /// Marks a change of a locked, tracked user: the next version (its ETag) and updated_at. Every change through the API
    /// counts, even one that leaves the columns as they were, as it always has.
    /// </summary>
    public static void Changed(this User user)
    {
        user.Version++;
        user.UpdatedAt = Timestamps.Now();
    }
}
