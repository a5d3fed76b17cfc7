using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Monolith.Customers.Data;

/// <summary>
/// The Customers module's tables, one model for every tenant: table names are unqualified and resolve through the
/// tenant transaction's search_path, so no schema (and no tenant) is part of the model. DbUp owns the tables
/// (tenant script 0004): the model never creates or migrates anything. Open it with <see cref="CustomersDatabase"/>, never on a
/// connection of its own.
/// </summary>
internal sealed class CustomersDbContext(DbContextOptions<CustomersDbContext> options) : DbContext(options)
{
    public DbSet<Customer> Customers => Set<Customer>();

    public DbSet<Project> Projects => Set<Project>();

    public DbSet<Warehouse> Warehouses => Set<Warehouse>();

    public DbSet<ProjectWarehouse> ProjectWarehouses => Set<ProjectWarehouse>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Customer>(customer =>
        {
            customer.ToTable("customers");
            Timestamps(customer);
        });

        modelBuilder.Entity<Project>(project =>
        {
            project.ToTable("projects");
            // Known to EF so that a customer's INSERT is ordered before its projects' in one SaveChanges batch.
            project.HasOne<Customer>().WithMany().HasForeignKey(p => p.CustomerId);
            Timestamps(project);
        });

        modelBuilder.Entity<Warehouse>(warehouse =>
        {
            warehouse.ToTable("warehouses");
            warehouse.HasOne<Customer>().WithMany().HasForeignKey(w => w.CustomerId);
            Timestamps(warehouse);
        });

        modelBuilder.Entity<ProjectWarehouse>(assignment =>
        {
            assignment.ToTable("project_warehouses");
            assignment.HasKey(a => new { a.ProjectId, a.WarehouseId });
            assignment.Property(a => a.AssignedAt).HasDefaultValueSql("now()");
        });

        // snake_case columns, as the scripts name them.
        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            foreach (var property in entity.GetProperties().Where(p => p.Name != "Version"))
            {
                property.SetColumnName(SnakeCase(property.Name));
            }
        }
    }

    /// <summary>
    /// created_at and updated_at start as the database's now() (read back by the INSERT's RETURNING, like xmin), so a
    /// row's times come from one clock; <c>Version</c> maps to the system column xmin as the concurrency token.
    /// </summary>
    private static void Timestamps<T>(EntityTypeBuilder<T> entity) where T : class
    {
        entity.Property<DateTime>("CreatedAt").HasDefaultValueSql("now()");
        entity.Property<DateTime>("UpdatedAt").HasDefaultValueSql("now()");
        entity.Property<uint>("Version").IsRowVersion().HasColumnName("xmin").HasColumnType("xid");
    }

    private static string SnakeCase(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));
}
