using System.ComponentModel;
using Hangfire;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Placement;
using Monolith.Toggles.Data;
using Monolith.Toggles.Evaluation;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Monolith.Toggles.Schedules;

/// <summary>
/// Applies due scheduled changes: one recurring Hangfire job (every <see cref="TogglesOptions.ScheduleSeconds"/>) for
/// the whole platform. One query on <c>platform.toggle_schedule_due</c> finds the tenants with due changes and locks
/// their rows (SKIP LOCKED: another instance running at the same moment takes other tenants or none); for each, one
/// statement in the tenant's schema deletes the due rows and sets each toggle to its latest due value (so the audit
/// trail names the job), then the tenant's row moves to its next schedule or goes. The DELETE's row locks would make
/// each change apply once even without the platform lock. The tables' triggers notify the other instances' caches.
/// </summary>
internal sealed partial class ToggleScheduler(
    TenantServers servers,
    ITenantDirectory directory,
    TenantContext tenants,
    TogglesDatabase database,
    ToggleCache cache,
    IOptions<TogglesOptions> options,
    ILogger<ToggleScheduler> logger)
{
    public const string ActorName = "toggle-scheduler";
    public const string RecurringId = "toggle-schedules";

    /// <summary>How long a tenant that is not live (deleted, in its grace period) waits before it is looked at again.</summary>
    private static readonly TimeSpan NotLivePostponement = TimeSpan.FromHours(1);

    /// <summary>One run; returns how many toggles changed.</summary>
    [DisplayName("Toggles: apply due scheduled changes")]
    [DisableConcurrentExecution(timeoutInSeconds: 10)]
    [AutomaticRetry(Attempts = 0)] // the next run is seconds away; a retry would only overlap it
    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        // Each server keeps the due rows of its own tenants (docs/adr/0066).
        var changed = 0;
        foreach (var (_, server) in await servers.AllAsync(ct))
        {
            changed += await RunOnAsync(server, ct);
        }

        return changed;
    }

    private async Task<int> RunOnAsync(PlatformDatabase server, CancellationToken ct)
    {
        await using var connection = await server.DataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var due = new List<Guid>();
        await using (var command = new NpgsqlCommand(
            """
            SELECT tenant_id FROM platform.toggle_schedule_due
            WHERE due_at <= now() ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED
            """, connection, transaction))
        {
            command.Parameters.AddWithValue(Math.Max(1, options.Value.ScheduleTenantsPerRun));
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                due.Add(reader.GetGuid(0));
            }
        }

        if (due.Count == 0)
        {
            return 0;
        }

        var live = (await directory.ListLiveAsync(ct)).ToDictionary(t => t.Id);
        var changed = 0;
        foreach (var tenantId in due)
        {
            if (!live.TryGetValue(tenantId, out var tenant))
            {
                await MoveAsync(connection, transaction, tenantId, DateTimeOffset.UtcNow + NotLivePostponement, ct);
                continue;
            }

            try
            {
                var (applied, next) = await ApplyDueAsync(tenant, ct);
                changed += applied;
                await MoveAsync(connection, transaction, tenantId, next, ct);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
            {
                // Not migrated to the toggles script yet: nothing can be scheduled there.
                await MoveAsync(connection, transaction, tenantId, null, ct);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                // The tenant's row stays due: the next run tries again.
                LogTenantFailed(logger, tenant.Identifier, e);
            }
        }

        await transaction.CommitAsync(ct);
        return changed;
    }

    private async Task<(int Applied, DateTimeOffset? Next)> ApplyDueAsync(TenantInfo tenant, CancellationToken ct)
    {
        using var scope = tenants.Enter(tenant);
        using var operation = OperationContext.Begin(new OperationContext { ActorKind = ActorKinds.Job, ActorName = ActorName });
        await using var work = await database.BeginAsync(ct);
        // SQL: the due rows deleted and their latest values written in one statement (EF cannot chain a DELETE into an UPDATE).
        var changed = await work.Db.Database.ExecuteSqlAsync(
            $"""
             WITH due AS (
                 DELETE FROM feature_schedules WHERE at <= now() RETURNING id, key, at, enabled
             ), latest AS (
                 SELECT DISTINCT ON (key) key, enabled FROM due ORDER BY key, at DESC, id DESC
             )
             UPDATE feature_toggles t
                SET enabled = l.enabled, revision = t.revision + 1, updated_at = now(),
                    updated_by_id = nullif(current_setting('monolith.actor_id', true), '')::uuid,
                    updated_by = nullif(current_setting('monolith.actor_email', true), '')
               FROM latest l
              WHERE t.key = l.key AND t.enabled IS DISTINCT FROM l.enabled
             """, ct);
        var next = await work.Db.Schedules.MinAsync(s => (DateTimeOffset?)s.At, ct);
        await work.CommitAsync(ct);
        if (changed > 0)
        {
            cache.Invalidate(tenant.SchemaName);
        }

        return (changed, next);
    }

    /// <summary>The tenant's row to its next due change, or gone when there is none (a schedule written meanwhile waits for this lock, then lowers it again).</summary>
    private static async Task MoveAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tenantId, DateTimeOffset? next, CancellationToken ct)
    {
        await using var command = next is null
            ? new NpgsqlCommand("DELETE FROM platform.toggle_schedule_due WHERE tenant_id = $1", connection, transaction)
            : new NpgsqlCommand("UPDATE platform.toggle_schedule_due SET due_at = $2 WHERE tenant_id = $1", connection, transaction);
        command.Parameters.AddWithValue(tenantId);
        if (next is { } at)
        {
            command.Parameters.AddWithValue(at);
        }

        await command.ExecuteNonQueryAsync(ct);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Toggle scheduler could not apply due changes for tenant {Tenant}")]
    private static partial void LogTenantFailed(ILogger logger, string tenant, Exception exception);
}
