using Microsoft.EntityFrameworkCore;
using Monolith.Tenancy.Isolation;

namespace Monolith.Auditing.Data;

/// <summary>
/// Opens <see cref="AuditingDbContext"/> inside a tenant unit of work: on its connection and transaction, which carry the
/// tenant's role, search_path and bounds (TenantSession). Reads only: the unit of work is rolled back on dispose.
/// </summary>
internal sealed class AuditingDatabase(TenantDatabase tenantDatabase, IDbContextFactory<AuditingDbContext> contexts)
{
    public Task<TenantWork<AuditingDbContext>> ReadAsync(CancellationToken ct) => contexts.BeginAsync(tenantDatabase, ct);
}
