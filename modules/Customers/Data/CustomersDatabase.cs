using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Monolith.Tenancy.Isolation;

namespace Monolith.Customers.Data;

/// <summary>
/// Opens <see cref="CustomersDbContext"/> inside a tenant unit of work: on its connection and transaction, which carry
/// the tenant's role, search_path and bounds (TenantSession). The context never opens, commits or rolls back anything
/// itself; whoever began the unit of work ends it.
/// </summary>
internal sealed class CustomersDatabase(TenantDatabase tenantDatabase, IDbContextFactory<CustomersDbContext> contexts)
{
    /// <summary>A read-only unit of work (rolled back on dispose).</summary>
    public Task<TenantWork<CustomersDbContext>> ReadAsync(CancellationToken ct) => contexts.BeginAsync(tenantDatabase, ct);

    /// <summary>A unit of work that writes: the request's shared transaction under Idempotency-Key, else one of its own.</summary>
    public Task<TenantWork<CustomersDbContext>> WriteAsync(HttpContext http, CancellationToken ct) =>
        contexts.BeginWriteAsync(http, tenantDatabase, ct);
}
