using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Monolith.Tenancy.Idempotency;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Customers.Data;

/// <summary>
/// Opens <see cref="CustomersDbContext"/> inside a tenant unit of work: on its connection and transaction, which carry
/// the tenant's role, search_path and bounds (TenantSession). The context never opens, commits or rolls back anything
/// itself; whoever began the unit of work ends it.
/// </summary>
internal sealed class CustomersDatabase(TenantDatabase tenantDatabase, IDbContextFactory<CustomersDbContext> contexts)
{
    /// <summary>A read-only unit of work (rolled back on dispose).</summary>
    public async Task<CustomersReading> ReadAsync(CancellationToken ct)
    {
        var session = await tenantDatabase.BeginAsync(ct);
        return new CustomersReading(session, contexts.Open(session.Connection, session.Transaction));
    }

    /// <summary>A unit of work that writes: the request's shared transaction under Idempotency-Key, else one of its own.</summary>
    public async Task<CustomersWriting> WriteAsync(HttpContext http, CancellationToken ct)
    {
        var work = await TenantTransaction.BeginAsync(http, tenantDatabase, ct);
        return new CustomersWriting(work, contexts.Open(work.Connection, work.Transaction));
    }
}

internal sealed class CustomersReading(TenantConnection session, CustomersDbContext db) : IAsyncDisposable
{
    public CustomersDbContext Db { get; } = db;

    public async ValueTask DisposeAsync()
    {
        await Db.DisposeAsync();
        await session.DisposeAsync();
    }
}

internal sealed class CustomersWriting(TenantTransaction work, CustomersDbContext db) : IAsyncDisposable
{
    public CustomersDbContext Db { get; } = db;

    public NpgsqlTransaction Transaction => work.Transaction;

    public Task CommitAsync(CancellationToken ct) => work.CommitAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await Db.DisposeAsync();
        await work.DisposeAsync();
    }
}
