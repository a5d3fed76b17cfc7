using Microsoft.EntityFrameworkCore;
using Monolith.Tenancy.Isolation;

namespace Monolith.Customers.Data;

/// <summary>
/// Row locks taken before a conditional write, in SQL because EF has no words for them. A change takes
/// FOR NO KEY UPDATE, which still lets other transactions insert rows referencing this one (their foreign keys take
/// FOR KEY SHARE); a delete takes FOR UPDATE, which holds them off until it is done, so nothing new can hang on a row
/// while it is being removed. The rows come back tracked, so a change is written by SaveChanges (only what changed,
/// checked against xmin).
/// </summary>
internal enum RowLock
{
    ForChange,
    ForDelete,
}

internal static class RowLocks
{
    // `*` reads every column the entity maps; xmin is a system column, never part of `*`.
    public static Task<Customer?> FindLockedAsync(this DbSet<Customer> customers, Guid id, RowLock rowLock, CancellationToken ct) =>
        (rowLock == RowLock.ForChange
            ? customers.FromSql($"SELECT *, xmin FROM customers WHERE id = {id} FOR NO KEY UPDATE")
            : customers.FromSql($"SELECT *, xmin FROM customers WHERE id = {id} FOR UPDATE")).AsTracking().FirstOrNullAsync(ct);

    public static Task<Project?> FindLockedAsync(this DbSet<Project> projects, Guid id, RowLock rowLock, CancellationToken ct) =>
        (rowLock == RowLock.ForChange
            ? projects.FromSql($"SELECT *, xmin FROM projects WHERE id = {id} FOR NO KEY UPDATE")
            : projects.FromSql($"SELECT *, xmin FROM projects WHERE id = {id} FOR UPDATE")).AsTracking().FirstOrNullAsync(ct);

    public static Task<Warehouse?> FindLockedAsync(this DbSet<Warehouse> warehouses, Guid id, RowLock rowLock, CancellationToken ct) =>
        (rowLock == RowLock.ForChange
            ? warehouses.FromSql($"SELECT *, xmin FROM warehouses WHERE id = {id} FOR NO KEY UPDATE")
            : warehouses.FromSql($"SELECT *, xmin FROM warehouses WHERE id = {id} FOR UPDATE")).AsTracking().FirstOrNullAsync(ct);
}
