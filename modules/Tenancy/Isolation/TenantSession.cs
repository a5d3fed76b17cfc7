using System.Globalization;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Bounds;
using Npgsql;

namespace Monolith.Tenancy.Isolation;

/// <summary>
/// Binds a transaction to a tenant in one round trip: its schema as search_path, its bounds (statement, lock and
/// idle-in-transaction timeouts), the operation's request id and actor (read by the audit trail's triggers), and last
/// its role, after which the transaction can reach nothing but that tenant's tables.
/// <para>
/// Every setting is transaction-local (<c>set_config(…, true)</c>): it ends with the transaction, so no later use of the
/// connection — another request, or a transaction-mode pooler handing the server connection to someone else — can inherit
/// it. This is the only place that sets them (docs/adr/0005).
/// </para>
/// </summary>
internal static class TenantSession
{
    private const string Sql =
        """
        SELECT set_config('search_path', quote_ident($1), true),
               set_config('statement_timeout', $8, true),
               set_config('lock_timeout', $9, true),
               set_config('idle_in_transaction_session_timeout', $10, true),
               set_config('monolith.tenant', $2, true),
               set_config('monolith.request_id', $3, true),
               set_config('monolith.actor_kind', $4, true),
               set_config('monolith.actor_id', $5, true),
               set_config('monolith.actor_email', $6, true),
               set_config('role', $7, true)
        """;

    public static async Task ApplyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, TenantInfo tenant, TenantBounds bounds, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(Sql, connection, transaction);
        var operation = OperationContext.Current;
        var statementTimeout = bounds.StatementTimeoutMs(tenant);
        command.Parameters.AddWithValue(tenant.SchemaName);
        command.Parameters.AddWithValue(tenant.Identifier);
        command.Parameters.AddWithValue(operation?.RequestId ?? string.Empty);
        command.Parameters.AddWithValue(operation?.ActorKind ?? ActorKinds.Anonymous);
        command.Parameters.AddWithValue(operation?.ActorId?.ToString() ?? string.Empty);
        command.Parameters.AddWithValue(operation?.ActorEmail ?? operation?.ActorName ?? string.Empty);
        command.Parameters.AddWithValue(tenant.RoleName);
        command.Parameters.AddWithValue(Milliseconds(statementTimeout));
        command.Parameters.AddWithValue(Milliseconds(bounds.LockTimeoutMs(tenant)));
        command.Parameters.AddWithValue(Milliseconds(bounds.IdleInTransactionTimeoutMs));
        await command.ExecuteNonQueryAsync(ct);
    }

    private static string Milliseconds(int value) => value.ToString(CultureInfo.InvariantCulture) + "ms";
}
