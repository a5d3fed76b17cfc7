using System.Data;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tenancy.Idempotency;
using Npgsql;

namespace Monolith.Tenancy.Isolation;

/// <summary>
/// How a module's DbContext lives (docs/adr/0036): one pooled factory, hence one model, for every tenant; each unit of
/// work rents a context and hands it the tenant connection and transaction, which carry the tenant's role, search_path
/// and bounds (TenantSession). The context never opens, commits or rolls back anything itself.
/// </summary>
public static class TenantDbContexts
{
    /// <summary>Registers <typeparamref name="TContext"/>'s pooled factory: Npgsql with no connection of its own, no tracking by default.</summary>
    public static IServiceCollection AddTenantDbContext<TContext>(this IServiceCollection services) where TContext : DbContext
    {
        var options = new DbContextOptionsBuilder<TContext>().UseQueryTrackingBehavior(QueryTrackingBehavior.NoTracking);
        TenantDatabase.Configure(options);
        return services.AddSingleton<IDbContextFactory<TContext>>(new PooledDbContextFactory<TContext>(options.Options));
    }

    /// <summary>A unit of work of the tenant in scope with the module's context on it (rolled back unless committed).</summary>
    public static async Task<TenantWork<TContext>> BeginAsync<TContext>(
        this IDbContextFactory<TContext> contexts, TenantDatabase database, CancellationToken ct, IsolationLevel isolation = IsolationLevel.ReadCommitted)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(database);
        var session = await database.BeginAsync(isolation, ct);
        try
        {
            return new TenantWork<TContext>(session, contexts.Open(session.Connection, session.Transaction));
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>A unit of work that writes: the request's shared transaction under Idempotency-Key, else one of its own.</summary>
    public static async Task<TenantWork<TContext>> BeginWriteAsync<TContext>(
        this IDbContextFactory<TContext> contexts, HttpContext http, TenantDatabase database, CancellationToken ct)
        where TContext : DbContext
    {
        var work = await TenantTransaction.BeginAsync(http, database, ct);
        try
        {
            return new TenantWork<TContext>(work, contexts.Open(work.Connection, work.Transaction));
        }
        catch
        {
            await work.DisposeAsync();
            throw;
        }
    }

    /// <summary>A context on a transaction someone else began and ends (dispose the context, not the transaction).</summary>
    public static TContext Open<TContext>(this IDbContextFactory<TContext> contexts, NpgsqlConnection connection, NpgsqlTransaction transaction)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(contexts);
        // A returned context keeps no tenant: the connection and transaction are set anew each time it is rented.
        var db = contexts.CreateDbContext();
        db.Database.SetDbConnection(connection);
        db.Database.UseTransaction(transaction);
        // A failed statement ends the unit of work anyway: a savepoint per SaveChanges would only cost round trips.
        db.Database.AutoSavepointsEnabled = false;
        return db;
    }
}
