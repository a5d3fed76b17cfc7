using Monolith.Tenancy.Catalog;
using Npgsql;

namespace Monolith.Tenancy.Placement;

/// <summary>
/// A tenant's catalog row copied to the server that holds its schema when that is not the catalog's (docs/adr/0066):
/// the shared functions there find the tenant by its role, and that server's anchors and due-work rows reference it.
/// Only what they read is kept current (schema, role, status); the catalog's row stays the one that decides.
/// </summary>
internal static class TenantMirror
{
    /// <summary>Writes <paramref name="tenant"/>'s copy on <paramref name="serverName"/>; nothing on the catalog's server.</summary>
    public static async Task WriteAsync(
        string serverName, PlatformDatabase server, TenantInfo tenant, NpgsqlTransaction? transaction, CancellationToken ct)
    {
        if (serverName == TenantServers.Catalog)
        {
            return;
        }

        const string sql =
            """
            INSERT INTO platform.tenants AS t (id, identifier, name, schema_name, role_name, status)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (id) DO UPDATE SET schema_name = excluded.schema_name, role_name = excluded.role_name,
                status = excluded.status, updated_at = now()
            """;
        await using var command = transaction is null ? server.DataSource.CreateCommand(sql) : new NpgsqlCommand(sql, transaction.Connection, transaction);
        command.Parameters.AddWithValue(tenant.Id);
        command.Parameters.AddWithValue(tenant.Identifier);
        command.Parameters.AddWithValue(tenant.Name);
        command.Parameters.AddWithValue(tenant.SchemaName);
        command.Parameters.AddWithValue(tenant.RoleName);
        command.Parameters.AddWithValue(tenant.Status);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Removes the copy (and, by their foreign keys, that server's anchor and due-work rows of the tenant).</summary>
    public static async Task RemoveAsync(string serverName, PlatformDatabase server, TenantInfo tenant, CancellationToken ct)
    {
        if (serverName == TenantServers.Catalog)
        {
            return;
        }

        await using var command = server.DataSource.CreateCommand("DELETE FROM platform.tenants WHERE id = $1");
        command.Parameters.AddWithValue(tenant.Id);
        await command.ExecuteNonQueryAsync(ct);
    }
}
