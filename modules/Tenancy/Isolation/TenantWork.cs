using Microsoft.EntityFrameworkCore;
using Monolith.Tenancy.Idempotency;
using Npgsql;

namespace Monolith.Tenancy.Isolation;

/// <summary>
/// A module's context on one tenant unit of work (<see cref="TenantDbContexts"/>). Nothing is kept unless
/// <see cref="CommitAsync"/> is called; disposing returns the context to its pool and ends the unit of work.
/// </summary>
public sealed class TenantWork<TContext> : IAsyncDisposable where TContext : DbContext
{
    private readonly IAsyncDisposable unit;
    private readonly Func<CancellationToken, Task> commit;

    internal TenantWork(TenantConnection session, TContext db)
        : this(db, session.Connection, session.Transaction, session, session.CommitAsync)
    {
    }

    internal TenantWork(TenantTransaction work, TContext db)
        : this(db, work.Connection, work.Transaction, work, work.CommitAsync)
    {
    }

    private TenantWork(TContext db, NpgsqlConnection connection, NpgsqlTransaction transaction, IAsyncDisposable unit, Func<CancellationToken, Task> commit)
    {
        Db = db;
        Connection = connection;
        Transaction = transaction;
        this.unit = unit;
        this.commit = commit;
    }

    public TContext Db { get; }

    /// <summary>For calls into other modules' contracts that take the tenant connection (tenant settings, in-process events).</summary>
    public NpgsqlConnection Connection { get; }

    public NpgsqlTransaction Transaction { get; }

    public Task CommitAsync(CancellationToken ct) => commit(ct);

    public async ValueTask DisposeAsync()
    {
        await Db.DisposeAsync();
        await unit.DisposeAsync();
    }
}
