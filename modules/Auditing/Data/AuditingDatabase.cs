using Microsoft.EntityFrameworkCore;
using Monolith.Tenancy.Isolation;

namespace Monolith.Auditing.Data;

/// <summary>
/// Opens <see cref="AuditingDbContext"/> inside a tenant unit of work: on its connection and transaction, which carry the
/// tenant's role, search_path and bounds (TenantSession). Reads only: the unit of work is rolled back on dispose.
/// </summary>
internal sealed class AuditingDatabase(TenantDatabase tenantDatabase, IDbContextFactory<AuditingDbContext> contexts)
{
    public async Task<AuditingReading> ReadAsync(CancellationToken ct)
    {
        var session = await tenantDatabase.BeginAsync(ct);
        return new AuditingReading(session, contexts.Open(session.Connection, session.Transaction));
    }
}

internal sealed class AuditingReading(TenantConnection session, AuditingDbContext db) : IAsyncDisposable
{
    public AuditingDbContext Db { get; } = db;

    public async ValueTask DisposeAsync()
    {
        await Db.DisposeAsync();
        await session.DisposeAsync();
    }
}
