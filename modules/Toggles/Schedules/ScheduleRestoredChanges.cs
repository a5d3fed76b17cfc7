using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Npgsql;

namespace Monolith.Toggles.Schedules;

/// <summary>
/// A restored tenant's pending schedules were loaded before their triggers existed (pg_restore makes triggers after the
/// data), so nothing told the scheduler about them: put the tenant's earliest due change where the recurring job looks.
/// </summary>
internal sealed class ScheduleRestoredChanges : ITenantRestoreStep
{
    public async Task AfterRestoreAsync(TenantInfo tenant, NpgsqlTransaction transaction, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO platform.toggle_schedule_due AS d (tenant_id, due_at)
            SELECT $1, s.at FROM (SELECT min(at) AS at FROM feature_schedules) s WHERE s.at IS NOT NULL
            ON CONFLICT (tenant_id) DO UPDATE SET due_at = least(d.due_at, excluded.due_at)
            """, transaction.Connection, transaction);
        command.Parameters.AddWithValue(tenant.Id);
        await command.ExecuteNonQueryAsync(ct);
    }
}
