using Monolith.Tenancy.Catalog;
using Npgsql;

namespace Monolith.Tenancy.Contracts;

/// <summary>
/// What a module carries along when a tenant moves to another database server (docs/adr/0066): the rows it keeps about
/// the tenant outside the tenant's schema, in that server's own platform tables (an anchor, a due-work row). Runs as the
/// owner role while the tenant's writes are frozen, after its schema has been copied: written on <paramref name="target"/>
/// (search_path at the tenant's schema there), removed on <paramref name="source"/>. Both commit with the catalog's switch.
/// </summary>
public interface ITenantMoveStep
{
    Task MoveAsync(TenantInfo tenant, NpgsqlTransaction source, NpgsqlTransaction target, CancellationToken ct);
}

/// <summary>The usual move step: a module's row of a server-local platform table, keyed by <c>tenant_id</c>.</summary>
public static class TenantMoveSteps
{
    /// <summary>Carries the tenant's row of <paramref name="table"/> (<c>platform.x</c>) from the source to the target.</summary>
    public static ITenantMoveStep CarryRow(string table) =>
        System.Text.RegularExpressions.Regex.IsMatch(table, "^platform\\.[a-z_]+$")
            ? new CarriedRow(table)
            : throw new ArgumentException("Name a platform table: platform.name.", nameof(table));

    private sealed class CarriedRow(string table) : ITenantMoveStep
    {
        public async Task MoveAsync(TenantInfo tenant, NpgsqlTransaction source, NpgsqlTransaction target, CancellationToken ct)
        {
            string? row;
            await using (var take = new NpgsqlCommand(
                             $"DELETE FROM {table} x WHERE x.tenant_id = $1 RETURNING to_jsonb(x)::text", source.Connection, source))
            {
                take.Parameters.AddWithValue(tenant.Id);
                row = await take.ExecuteScalarAsync(ct) as string;
            }

            if (row is null)
            {
                return;
            }

            await using var put = new NpgsqlCommand(
                $"INSERT INTO {table} SELECT * FROM jsonb_populate_record(NULL::{table}, $1::jsonb)", target.Connection, target);
            put.Parameters.AddWithValue(row);
            await put.ExecuteNonQueryAsync(ct);
        }
    }
}
