using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.Tenancy;
using Monolith.Tenancy.Contracts;
using Npgsql;

namespace Monolith.Auditing.Retention;

/// <summary>What one batch of a pass did, and whether tenants are left for the next.</summary>
internal sealed record RetentionBatchResult(int Tenants, int Succeeded, int Failed, bool More);

/// <summary>
/// The daily retention of every live tenant as a pass (<c>platform.retention_passes</c>) worked off in batches of at most
/// <see cref="RetentionOptions.TenantsPerBatch"/> tenants. A batch takes the live tenants (by identifier) that have no
/// finished run in the pass — succeeded, skipped because another run held the tenant, or failed
/// <see cref="RetentionOptions.AttemptsPerPass"/> times — so a batch cut short (a shutdown, a crash) is continued by the next
/// without redoing a finished tenant, and an interrupted tenant is simply run again (every task removes in committed batches
/// and stops at the policy). Each tenant runs under <see cref="RetentionRunner"/>'s per-tenant lock, so two instances never
/// work on one tenant at once.
/// </summary>
internal sealed partial class RetentionPasses(
    RetentionRunner runner,
    ITenantDirectory directory,
    PlatformDatabase database,
    IOptions<RetentionOptions> options,
    ILogger<RetentionPasses> logger)
{
    /// <summary>Starts a pass; a pass of the same source still running is superseded (its finished tenants stay recorded).</summary>
    public async Task<Guid> StartAsync(string source, string? jobId, CancellationToken ct)
    {
        var id = Guid.CreateVersion7();
        await using var command = database.DataSource.CreateCommand(
            """
            WITH superseded AS (
                UPDATE platform.retention_passes SET status = 'superseded', finished_at = now() WHERE status = 'running' AND source = $2)
            INSERT INTO platform.retention_passes (id, source, job_id, status) VALUES ($1, $2, $3, 'running')
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(source);
        command.Parameters.AddWithValue((object?)jobId ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(ct);
        return id;
    }

    /// <summary>
    /// The next batch of the pass; when none is left the pass is closed. A pass that is no longer running (finished or
    /// superseded) does nothing.
    /// </summary>
    public async Task<RetentionBatchResult> RunBatchAsync(Guid passId, string? jobId, CancellationToken ct)
    {
        var source = await RunningSourceAsync(passId, ct);
        if (source is null)
        {
            return new RetentionBatchResult(0, 0, 0, More: false);
        }

        var batch = Math.Max(1, options.Value.TenantsPerBatch);
        var live = await directory.ListLiveAsync(ct);
        var finished = await FinishedAsync(passId, ct);
        var due = live.Where(t => !finished.Contains(t.Identifier)).ToList();
        int succeeded = 0, failed = 0;
        foreach (var tenant in due.Take(batch))
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                await runner.RunTenantAsync(tenant, dryRun: false, source, jobId, passId, ct);
                succeeded++;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Recorded as failed by the runner; the tenant stays due in this pass until its attempts are spent.
                LogTenantFailed(logger, tenant.Identifier, e);
                failed++;
            }
        }

        var more = due.Count > batch || failed > 0;
        await UpdateAsync(passId, live.Count, close: !more, ct);
        return new RetentionBatchResult(Math.Min(batch, due.Count), succeeded, failed, more);
    }

    private async Task<string?> RunningSourceAsync(Guid passId, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand("SELECT source FROM platform.retention_passes WHERE id = $1 AND status = 'running'");
        command.Parameters.AddWithValue(passId);
        return await command.ExecuteScalarAsync(ct) as string;
    }

    /// <summary>Tenants the pass is done with: a succeeded or skipped run, or its attempts spent.</summary>
    private async Task<HashSet<string>> FinishedAsync(Guid passId, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            """
            SELECT tenant FROM platform.retention_runs WHERE pass_id = $1 AND tenant IS NOT NULL
            GROUP BY tenant
            HAVING bool_or(status IN ('succeeded', 'skipped')) OR count(*) FILTER (WHERE status = 'failed') >= $2
            """);
        command.Parameters.AddWithValue(passId);
        command.Parameters.AddWithValue(Math.Max(1, options.Value.AttemptsPerPass));
        var finished = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            finished.Add(reader.GetString(0));
        }

        return finished;
    }

    /// <summary>The pass's counts (what GET /platform/jobs shows), and its end when nothing is left.</summary>
    private async Task UpdateAsync(Guid passId, int tenants, bool close, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            """
            WITH per_tenant AS (
                SELECT tenant, bool_or(status IN ('succeeded', 'skipped')) AS ok FROM platform.retention_runs
                WHERE pass_id = $1 AND tenant IS NOT NULL AND status <> 'running' GROUP BY tenant)
            UPDATE platform.retention_passes p
               SET tenants = $2,
                   done = (SELECT count(*) FILTER (WHERE ok) FROM per_tenant),
                   failed = (SELECT count(*) FILTER (WHERE NOT ok) FROM per_tenant),
                   status = CASE WHEN NOT $3 THEN p.status WHEN EXISTS (SELECT 1 FROM per_tenant WHERE NOT ok) THEN 'failed' ELSE 'succeeded' END,
                   finished_at = CASE WHEN $3 THEN now() END
             WHERE p.id = $1 AND p.status = 'running'
            """);
        command.Parameters.AddWithValue(passId);
        command.Parameters.AddWithValue(tenants);
        command.Parameters.AddWithValue(close);
        await command.ExecuteNonQueryAsync(ct);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Retention for {Tenant} failed in this pass; the pass tries it again")]
    private static partial void LogTenantFailed(ILogger logger, string tenant, Exception exception);
}
