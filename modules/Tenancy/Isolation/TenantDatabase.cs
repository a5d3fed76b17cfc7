using System.Data;
using Microsoft.EntityFrameworkCore;
using Monolith.Tenancy.Bounds;
using Monolith.Tenancy.Placement;
using Npgsql;

namespace Monolith.Tenancy.Isolation;

/// <summary>
/// The only way to tenant data. Each unit of work is one transaction on the request role's pool of the tenant's server
/// (<see cref="TenantServers"/>), bound to the tenant in scope (<see cref="TenantContext"/>) by <see cref="TenantSession"/>:
/// its role, schema and bounds, all transaction-local.
/// With no tenant in scope it throws instead of running with anyone else's rights.
/// </summary>
public sealed class TenantDatabase(TenantServers servers, TenantContext tenants, TenantBounds bounds)
{
    /// <summary>A read-committed transaction bound to the current tenant.</summary>
    public Task<TenantConnection> BeginAsync(CancellationToken ct = default) => BeginAsync(IsolationLevel.ReadCommitted, ct);

    /// <summary>
    /// A transaction bound to the current tenant. When the pooled connection turns out to be dead (the server restarted),
    /// the request pools are cleared and a fresh connection tried once: nothing had run on the dead one yet.
    /// </summary>
    /// <remarks>
    /// A backend can refuse <c>SET ROLE</c> to a tenant role the request role was granted: PostgreSQL caches each
    /// backend's role memberships, and under concurrent provisioning (grants committing while backends rebuild that
    /// cache) a backend was seen to keep a list without a new tenant's role (about 2 logins in 1,000 right after
    /// provisioning, docs/BENCHMARKS.md). Such a backend would refuse that tenant until its next membership change, so it
    /// is not given back to the pool, and the unit of work starts again on a new connection.
    /// </remarks>
    public async Task<TenantConnection> BeginAsync(IsolationLevel isolation, CancellationToken ct = default)
    {
        var tenant = tenants.Required;
        var server = await servers.ForAsync(tenant, ct);
        var asRequestRole = false;
        for (var attempt = 1; ; attempt++)
        {
            var connection = await server.OpenTenantConnectionAsync(tenant.Id, asRequestRole, ct);
            try
            {
                var transaction = await connection.BeginTransactionAsync(isolation, ct);
                await TenantSession.ApplyAsync(connection, transaction, tenant, bounds, ct);
                return new TenantConnection(connection, transaction, server);
            }
            catch (Exception e) when (attempt == 1 && DatabaseFailures.IsConnectionLoss(e) && !ct.IsCancellationRequested)
            {
                await connection.DisposeAsync();
                server.ClearRequestPools(); // a restarted server ended the backends of every sub-pool, not only this one
            }
            catch (Exception e) when (DatabaseFailures.IsSetRoleRefused(e))
            {
                // Npgsql cannot drop one connection alone: the request pools are emptied (idle backends now, this one and
                // the busy ones when they come back), which also ends any neighbour holding the same stale list. Not for
                // a sub-pool's login: a grant it lacks is no stale list, and the next attempt goes as the request role.
                if (asRequestRole || server.RequestLogins.Count == 0)
                {
                    server.ClearRequestPools();
                }

                // A sub-pool's login lacks the tenant's role (granted by a host of an older version, or made before the
                // login existed, until the next start's repair, docs/adr/0073): the request role may become any.
                asRequestRole = server.RequestLogins.Count > 0;
                await connection.DisposeAsync();
                if (attempt == SetRoleAttempts || ct.IsCancellationRequested)
                {
                    throw;
                }
            }
            catch
            {
                // Not CloseTenantConnectionAsync: its memory measure would run inside the failed transaction and replace
                // this error with its own. Npgsql rolls back and resets the connection on its way back to the pool.
                await connection.DisposeAsync();
                throw;
            }
        }
    }

    private const int SetRoleAttempts = 3;

    /// <summary>
    /// Configures a module's DbContext: Npgsql with no connection of its own. The context works inside a
    /// <see cref="TenantConnection"/> (<see cref="TenantConnection.EnlistAsync"/>), so its statements carry the tenant's
    /// role, schema and bounds like every other tenant statement.
    /// </summary>
    /// <remarks>
    /// EF's thread-safety checks are off: a context is rented for one unit of work and never shared between threads,
    /// and in an async query the check enters and leaves a critical section per row, each time copying the request's
    /// async-local values (measured: the largest allocation of GET /customers, docs/BENCHMARKS.md).
    /// </remarks>
    public static void Configure(DbContextOptionsBuilder options) => options.UseNpgsql().EnableThreadSafetyChecks(false);
}

/// <summary>
/// One tenant unit of work: a connection of the request pool with an open transaction that carries the tenant's
/// session. Writes must be committed with <see cref="CommitAsync"/>; disposing without a commit rolls everything back.
/// </summary>
public sealed class TenantConnection : IAsyncDisposable
{
    private readonly PlatformDatabase server;

    internal TenantConnection(NpgsqlConnection connection, NpgsqlTransaction transaction, PlatformDatabase server)
    {
        Connection = connection;
        Transaction = transaction;
        this.server = server;
    }

    public NpgsqlConnection Connection { get; }

    public NpgsqlTransaction Transaction { get; }

    public NpgsqlCommand Command(string sql) => new(sql, Connection, Transaction);

    public Task CommitAsync(CancellationToken ct) => Transaction.CommitAsync(ct);

    /// <summary>Makes a module's DbContext work on this connection and transaction.</summary>
    public async Task EnlistAsync(DbContext context, CancellationToken ct)
    {
        context.Database.SetDbConnection(Connection);
        await context.Database.UseTransactionAsync(Transaction, ct);
    }

    public async ValueTask DisposeAsync()
    {
        await Transaction.DisposeAsync();
        await server.CloseTenantConnectionAsync(Connection);
    }
}
