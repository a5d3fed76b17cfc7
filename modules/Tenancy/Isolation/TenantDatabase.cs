using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace Monolith.Tenancy.Isolation;

/// <summary>
/// The only way to tenant data. Every connection it opens, and every connection a module's DbContext
/// opens, is bound to the tenant in scope (<see cref="TenantContext"/>); with no tenant in scope it throws
/// instead of running with the owner's rights.
/// </summary>
public sealed class TenantDatabase(PlatformDatabase platform, TenantContext tenants)
{
    private readonly TenantConnectionInterceptor interceptor = new(tenants);

    /// <summary>Opens a pooled connection bound to the current tenant.</summary>
    public async Task<NpgsqlConnection> OpenConnectionAsync(CancellationToken ct = default)
    {
        var tenant = tenants.Required;
        var connection = await platform.DataSource.OpenConnectionAsync(ct);
        try
        {
            await TenantSession.ApplyAsync(connection, tenant, ct);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Configures a module's DbContext: the shared pool, unqualified tables, and the tenant binding on every open.</summary>
    public void Configure(DbContextOptionsBuilder options)
    {
        options.UseNpgsql(platform.DataSource);
        options.AddInterceptors(interceptor);
    }

    private sealed class TenantConnectionInterceptor(TenantContext tenants) : DbConnectionInterceptor
    {
        public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) =>
            TenantSession.Apply(connection, tenants.Required);

        public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default) =>
            TenantSession.ApplyAsync(connection, tenants.Required, cancellationToken);
    }
}
