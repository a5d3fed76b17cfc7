using System.Data.Common;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy.Catalog;
using Npgsql;

namespace Monolith.Tenancy.Isolation;

/// <summary>
/// Binds an open connection to a tenant in one round trip: its schema as search_path, the operation's
/// request id and actor (read by the audit trail's triggers), and last its role, after which the
/// connection can reach nothing but that tenant's tables.
/// <para>
/// Settings are session-level and undone by Npgsql's reset (DISCARD ALL) when the connection goes back
/// to the pool. Behind a transaction-mode pooler they would have to be transaction-local instead:
/// <see cref="TransactionLocal"/> is that switch, and the only place that knows about it.
/// </para>
/// </summary>
internal static class TenantSession
{
    public const bool TransactionLocal = false;

    private const string Sql =
        """
        SELECT set_config('search_path', quote_ident($1), $8),
               set_config('monolith.tenant', $2, $8),
               set_config('monolith.request_id', $3, $8),
               set_config('monolith.actor_kind', $4, $8),
               set_config('monolith.actor_id', $5, $8),
               set_config('monolith.actor_email', $6, $8),
               set_config('role', $7, $8)
        """;

    public static async Task ApplyAsync(DbConnection connection, TenantInfo tenant, CancellationToken ct)
    {
        await using var command = Build((NpgsqlConnection)connection, tenant);
        await command.ExecuteNonQueryAsync(ct);
    }

    public static void Apply(DbConnection connection, TenantInfo tenant)
    {
        using var command = Build((NpgsqlConnection)connection, tenant);
        command.ExecuteNonQuery();
    }

    private static NpgsqlCommand Build(NpgsqlConnection connection, TenantInfo tenant)
    {
        var operation = OperationContext.Current;
        var command = new NpgsqlCommand(Sql, connection);
        command.Parameters.AddWithValue(tenant.SchemaName);
        command.Parameters.AddWithValue(tenant.Identifier);
        command.Parameters.AddWithValue(operation?.RequestId ?? string.Empty);
        command.Parameters.AddWithValue(operation?.ActorKind ?? ActorKinds.Anonymous);
        command.Parameters.AddWithValue(operation?.ActorId?.ToString() ?? string.Empty);
        command.Parameters.AddWithValue(operation?.ActorEmail ?? operation?.ActorName ?? string.Empty);
        command.Parameters.AddWithValue(tenant.RoleName);
        command.Parameters.AddWithValue(TransactionLocal);
        return command;
    }
}
