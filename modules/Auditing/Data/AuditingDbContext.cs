using Microsoft.EntityFrameworkCore;

namespace Monolith.Auditing.Data;

/// <summary>
/// The tenant's audit trail as Auditing reads it, one model for every tenant: <c>audit_events</c> unqualified, resolved
/// through the tenant transaction's search_path. Read only: records are written by the shared trigger function, and DbUp
/// owns the table. Open it with <see cref="AuditingDatabase"/>, never on a connection of its own.
/// </summary>
internal sealed class AuditingDbContext(DbContextOptions<AuditingDbContext> options) : DbContext(options)
{
    public DbSet<AuditEvent> Events => Set<AuditEvent>();

    /// <summary><c>monolith.audit_changes</c> (platform script 0010): the stored changes as <c>{column: {old, new}}</c>, redactions kept. SQL only.</summary>
    public static string AuditChanges(string stored) => throw new InvalidOperationException($"{nameof(AuditChanges)} runs in SQL only: {stored.Length}");

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<AuditEvent>(record =>
        {
            record.ToTable("audit_events");
            record.HasKey(e => e.Seq);
            record.Property(e => e.Changes).HasColumnType("jsonb");
        });

        var changes = modelBuilder.HasDbFunction(typeof(AuditingDbContext).GetMethod(nameof(AuditChanges))!)
            .HasSchema("monolith").HasName("audit_changes").HasStoreType("jsonb");
        changes.HasParameter("stored").HasStoreType("jsonb");

        // snake_case columns, as the scripts name them.
        foreach (var property in modelBuilder.Model.GetEntityTypes().SelectMany(e => e.GetProperties()))
        {
            property.SetColumnName(SnakeCase(property.Name));
        }
    }

    private static string SnakeCase(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));
}
