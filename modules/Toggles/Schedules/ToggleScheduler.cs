using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Toggles.Evaluation;
using Npgsql;

namespace Monolith.Toggles.Schedules;

/// <summary>
/// Applies due scheduled changes every <see cref="TogglesOptions.ScheduleSeconds"/> for every live tenant:
/// deletes the due rows and sets each toggle to its latest due value, in one statement (so in one
/// transaction, with the audit trail naming the job). Every instance runs it; the row locks of the DELETE
/// make each schedule apply once. The tables' triggers notify the other instances' caches.
/// </summary>
internal sealed partial class ToggleScheduler(
    ITenantDirectory directory,
    TenantContext tenants,
    TenantDatabase database,
    ToggleCache cache,
    IOptions<TogglesOptions> options,
    ILogger<ToggleScheduler> logger) : BackgroundService
{
    public const string ActorName = "toggle-scheduler";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Value.ScheduleSeconds)));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RunOnceAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down
        }
    }

    /// <summary>One pass over the live tenants; returns how many toggles changed.</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        IReadOnlyList<TenantInfo> live;
        try
        {
            live = await directory.ListLiveAsync(ct);
        }
        catch (NpgsqlException e)
        {
            LogPassFailed(logger, e);
            return 0;
        }

        var changed = 0;
        foreach (var tenant in live)
        {
            try
            {
                changed += await ApplyDueAsync(tenant, ct);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
            {
                // Not migrated to the toggles script yet: nothing can be scheduled there.
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                LogTenantFailed(logger, tenant.Identifier, e);
            }
        }

        return changed;
    }

    private async Task<int> ApplyDueAsync(TenantInfo tenant, CancellationToken ct)
    {
        using var scope = tenants.Enter(tenant);
        using var operation = OperationContext.Begin(new OperationContext { ActorKind = ActorKinds.Job, ActorName = ActorName });
        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        await using var command = new NpgsqlCommand(
            """
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
            """, connection);
        var changed = await command.ExecuteNonQueryAsync(ct);
        await session.CommitAsync(ct);
        if (changed > 0)
        {
            cache.Invalidate(tenant.SchemaName);
        }

        return changed;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Toggle scheduler could not list the tenants")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Toggle scheduler could not apply due changes for tenant {Tenant}")]
    private static partial void LogTenantFailed(ILogger logger, string tenant, Exception exception);
}
