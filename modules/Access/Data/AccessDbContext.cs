using Microsoft.EntityFrameworkCore;

namespace Monolith.Access.Data;

/// <summary>
/// The Access module's tables, one model for every tenant (docs/adr/0036): table names are unqualified and resolve through
/// the tenant transaction's search_path. DbUp owns the tables (tenant scripts access/*.sql): the model never creates or
/// migrates anything. Open it with <see cref="AccessDatabase"/>, never on a connection of its own.
/// </summary>
internal sealed class AccessDbContext(DbContextOptions<AccessDbContext> options) : DbContext(options)
{
    public DbSet<User> Users => Set<User>();

    public DbSet<Session> Sessions => Set<Session>();

    public DbSet<RefreshToken> RefreshTokens => Set<RefreshToken>();

    public DbSet<AccountToken> AccountTokens => Set<AccountToken>();

    public DbSet<Invitation> Invitations => Set<Invitation>();

    public DbSet<OutboxEntry> MailOutbox => Set<OutboxEntry>();

    public DbSet<LoginFailure> LoginFailures => Set<LoginFailure>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        // Database defaults (now(), 'pending', ...) are left to the database and read back by the INSERT's RETURNING.
        modelBuilder.Entity<User>(user =>
        {
            user.ToTable("users");
            user.Ignore(u => u.ETag);
            user.Property(u => u.CreatedAt).HasDefaultValueSql("now()");
            user.Property(u => u.UpdatedAt).HasDefaultValueSql("now()");
        });

        modelBuilder.Entity<Session>(session =>
        {
            session.ToTable("sessions");
            // Known to EF so that a new user's INSERT goes before its first session's in one SaveChanges batch.
            session.HasOne<User>().WithMany().HasForeignKey(s => s.UserId);
            session.Property(s => s.CreatedAt).HasDefaultValueSql("now()");
            session.Property(s => s.LastUsedAt).HasDefaultValueSql("now()");
        });

        modelBuilder.Entity<RefreshToken>(token =>
        {
            token.ToTable("refresh_tokens");
            token.HasOne<User>().WithMany().HasForeignKey(t => t.UserId);
            token.HasOne<Session>().WithMany().HasForeignKey(t => t.FamilyId);
            token.Property(t => t.CreatedAt).HasDefaultValueSql("now()");
        });

        modelBuilder.Entity<AccountToken>(token =>
        {
            token.ToTable("account_tokens");
            token.HasOne<User>().WithMany().HasForeignKey(t => t.UserId);
        });

        modelBuilder.Entity<Invitation>(invitation =>
        {
            invitation.ToTable("invitations");
            invitation.Property(i => i.CreatedAt).HasDefaultValueSql("now()");
            invitation.Property(i => i.UpdatedAt).HasDefaultValueSql("now()");
        });

        modelBuilder.Entity<OutboxEntry>(mail =>
        {
            mail.ToTable("mail_outbox");
            mail.Property(m => m.CreatedAt).HasDefaultValueSql("now()");
            mail.Property(m => m.NextAttemptAt).HasDefaultValueSql("now()");
        });

        modelBuilder.Entity<LoginFailure>(failure =>
        {
            failure.ToTable("login_failures");
            failure.HasKey(f => f.AddressHash);
        });

        // snake_case columns, as the scripts name them.
        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            foreach (var property in entity.GetProperties())
            {
                property.SetColumnName(SnakeCase(property.Name));
            }
        }
    }

    private static string SnakeCase(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));
}
