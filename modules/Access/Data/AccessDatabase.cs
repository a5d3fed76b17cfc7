using Microsoft.EntityFrameworkCore;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Access.Data;

/// <summary>
/// Opens <see cref="AccessDbContext"/> inside a tenant unit of work: on its connection and transaction, which carry the
/// tenant's role, search_path and bounds (TenantSession). The context never opens, commits or rolls back anything itself;
/// whoever began the unit of work ends it.
/// </summary>
internal sealed class AccessDatabase(TenantDatabase tenantDatabase, IDbContextFactory<AccessDbContext> contexts)
{
    /// <summary>A read-committed transaction bound to the current tenant (rolled back on dispose unless committed).</summary>
    public Task<TenantWork<AccessDbContext>> BeginAsync(CancellationToken ct) => contexts.BeginAsync(tenantDatabase, ct);

    /// <summary>The context on a transaction someone else began and ends (dispose the context, not the transaction).</summary>
    public AccessDbContext Open(NpgsqlConnection connection, NpgsqlTransaction transaction) => contexts.Open(connection, transaction);
}
