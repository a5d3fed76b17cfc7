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
    /// <summary>A unit of work of the tenant in scope; nothing is kept unless <see cref="TogglesWork.CommitAsync"/> is called.</summary>
    public async Task<TogglesWork> BeginAsync(CancellationToken ct, IsolationLevel isolation = IsolationLevel.ReadCommitted)
    {
        var session = await tenantDatabase.BeginAsync(isolation, ct);
        return new TogglesWork(session, contexts.Open(session.Connection, session.Transaction));
    }

    /// <summary>The context on another module's unit of work (an in-process event's transaction); the caller disposes the context only.</summary>
    public TogglesDbContext On(DbTransaction transaction) =>
        contexts.Open((NpgsqlConnection)transaction.Connection!, (NpgsqlTransaction)transaction);

}

internal sealed class TogglesWork(TenantConnection session, TogglesDbContext db) : IAsyncDisposable
{
    public TogglesDbContext Db { get; } = db;

    public NpgsqlConnection Connection => session.Connection;

    public NpgsqlTransaction Transaction => session.Transaction;

    public Task CommitAsync(CancellationToken ct) => session.CommitAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await Db.DisposeAsync();
        await session.DisposeAsync();
    }
}
