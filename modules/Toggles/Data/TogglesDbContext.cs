using Microsoft.EntityFrameworkCore;

namespace Monolith.Toggles.Data;

/// <summary>
/// The Toggles module's tables, one model for every tenant: table names are unqualified and resolve through the tenant
/// transaction's search_path. DbUp owns the tables (tenant scripts 0006, 0021, 0044): the model never creates or
/// migrates anything. Open it with <see cref="TogglesDatabase"/>, never on a connection of its own.
/// </summary>
internal sealed class TogglesDbContext(DbContextOptions<TogglesDbContext> options) : DbContext(options)
{
    public DbSet<FeatureToggle> Toggles => Set<FeatureToggle>();

    public DbSet<FeatureOverride> Overrides => Set<FeatureOverride>();

    public DbSet<FeatureSchedule> Schedules => Set<FeatureSchedule>();

    public DbSet<FeatureToggleUsage> Usage => Set<FeatureToggleUsage>();

    public DbSet<FeatureToggleState> State => Set<FeatureToggleState>();

    /// <summary>Results of SQL of our own (<c>FromSql</c>, read as written): no table of their own.</summary>
    public DbSet<DefinitionRow> DefinitionRows => Set<DefinitionRow>();

    public DbSet<OverrideWritten> OverridesWritten => Set<OverrideWritten>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        // Columns the scripts fill on insert (DEFAULT now(), the session's actor, revision 1): EF leaves them out of an
        // INSERT and reads them back by its RETURNING.
        modelBuilder.Entity<FeatureToggle>(toggle =>
        {
            toggle.ToTable("feature_toggles");
            toggle.HasKey(t => t.Key);
            toggle.Property(t => t.Revision).ValueGeneratedOnAdd();
            toggle.Property(t => t.CreatedAt).ValueGeneratedOnAdd();
            toggle.Property(t => t.CreatedById).ValueGeneratedOnAdd();
            toggle.Property(t => t.CreatedBy).ValueGeneratedOnAdd();
            toggle.Property(t => t.UpdatedAt).ValueGeneratedOnAdd();
            toggle.Property(t => t.UpdatedById).ValueGeneratedOnAdd();
            toggle.Property(t => t.UpdatedBy).ValueGeneratedOnAdd();
        });

        modelBuilder.Entity<FeatureOverride>(o =>
        {
            o.ToTable("feature_overrides");
            o.HasKey(x => new { x.ProjectId, x.Key });
        });

        modelBuilder.Entity<FeatureSchedule>(schedule =>
        {
            schedule.ToTable("feature_schedules");
            schedule.Property(s => s.CreatedAt).ValueGeneratedOnAdd();
            schedule.Property(s => s.CreatedById).ValueGeneratedOnAdd();
            schedule.Property(s => s.CreatedBy).ValueGeneratedOnAdd();
        });

        modelBuilder.Entity<FeatureToggleUsage>(usage =>
        {
            usage.ToTable("feature_toggle_usage");
            usage.HasKey(u => u.Key);
        });

        modelBuilder.Entity<FeatureToggleState>(state =>
        {
            state.ToTable("feature_toggle_state");
            state.Property(s => s.Id).ValueGeneratedNever();
        });

        modelBuilder.Entity<DefinitionRow>().HasNoKey().ToView(null);
        modelBuilder.Entity<OverrideWritten>().HasNoKey().ToView(null);

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
