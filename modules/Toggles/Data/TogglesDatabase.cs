using System.Data;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Toggles.Data;

/// <summary>
/// Opens <see cref="TogglesDbContext"/> inside a tenant unit of work: on its connection and transaction, which carry the
/// tenant's role, search_path and bounds (TenantSession). The context never opens, commits or rolls back anything itself;
/// whoever began the unit of work ends it.
/// </summary>
internal sealed class TogglesDatabase(TenantDatabase tenantDatabase, IDbContextFactory<TogglesDbContext> contexts)
{
    /// <summary>A unit of work of the tenant in scope; nothing is kept unless it is committed.</summary>
    public Task<TenantWork<TogglesDbContext>> BeginAsync(CancellationToken ct, IsolationLevel isolation = IsolationLevel.ReadCommitted) =>
        contexts.BeginAsync(tenantDatabase, ct, isolation);

    /// <summary>The context on another module's unit of work (an in-process event's transaction); the caller disposes the context only.</summary>
    public TogglesDbContext On(DbTransaction transaction) =>
        contexts.Open((NpgsqlConnection)transaction.Connection!, (NpgsqlTransaction)transaction);
}
