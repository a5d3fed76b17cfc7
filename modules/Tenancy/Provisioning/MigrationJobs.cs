using System.ComponentModel;
using Hangfire;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.Tenancy.Catalog;
using Npgsql;

namespace Monolith.Tenancy.Provisioning;

internal sealed record MigrationJobTenant(string Identifier, string Status, string? Version, int Attempts, string? Error, DateTimeOffset? FinishedAt);

internal sealed record MigrationJob(
    Guid Id,
    string Status,
    string? TargetVersion,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<MigrationJobTenant> Tenants);

/// <summary>
/// "Migrate every tenant" as a Hangfire job: accepted by <c>POST /platform/migrations</c> (a row in
/// <c>platform.migration_jobs</c>, then a job in Hangfire's PostgreSQL storage), performed by whichever instance runs a
/// Hangfire server, so an accepted job survives the restart of the host that accepted it. Its status and per-tenant
/// progress stay in the platform schema so any instance can report them.
/// </summary>
internal sealed partial class MigrationJobs(
    PlatformDatabase database,
    TenantCatalog catalog,
    TenantMigrator migrator,
    IOptions<TenancyOptions> options,
    IBackgroundJobClient jobs,
    ILogger<MigrationJobs> logger)
{
    public async Task<Guid> EnqueueAsync(CancellationToken ct)
    {
        var id = Guid.CreateVersion7();
        await using (var command = database.DataSource.CreateCommand(
            "INSERT INTO platform.migration_jobs (id, status, target) VALUES ($1, 'queued', $2)"))
        {
            command.Parameters.AddWithValue(id);
            command.Parameters.AddWithValue((object?)migrator.LatestVersion ?? DBNull.Value);
            await command.ExecuteNonQueryAsync(ct);
        }

        try
        {
            jobs.Enqueue<MigrationJobs>(job => job.RunAsync(id, CancellationToken.None));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Never leave a row that claims to be queued when no job will ever run it.
            await SetStatusAsync(id, "failed", CancellationToken.None);
            throw;
        }

        return id;
    }

    public async Task<MigrationJob?> FindAsync(Guid id, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        MigrationJob? job = null;
        await using (var command = new NpgsqlCommand(
            "SELECT id, status, target, created_at, started_at, finished_at FROM platform.migration_jobs WHERE id = $1", connection))
        {
            command.Parameters.AddWithValue(id);
            await using var reader = await command.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
            {
                return null;
            }

            job = new MigrationJob(reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetFieldValue<DateTimeOffset>(3),
                reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
                reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5), []);
        }

        var tenants = new List<MigrationJobTenant>();
        await using (var command = new NpgsqlCommand(
            "SELECT identifier, status, version, attempts, error, finished_at FROM platform.migration_job_tenants WHERE job_id = $1 ORDER BY identifier",
            connection))
        {
            command.Parameters.AddWithValue(id);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                tenants.Add(new MigrationJobTenant(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.GetInt32(3), reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5)));
            }
        }

        return job with { Tenants = tenants };
    }

    /// <summary>
    /// One pass of the job: the next <see cref="TenancyOptions.MigrationBatchSize"/> tenants this job has not reported
    /// yet, <see cref="TenancyOptions.MigrationParallelism"/> at a time; then the next pass is enqueued, or the job ends
    /// when none is left. Each tenant's outcome is recorded as it ends, so a pass cut short (a shutdown, a crash) is
    /// taken up by the next run of the job (Hangfire re-queues it; another server or the same after a restart) with only
    /// the tenants it had not finished. Not retried by Hangfire: the migrator already retries each tenant, and a failure
    /// is reported in the job's status. A run of a job that already ended does nothing.
    /// </summary>
    [DisplayName("Migrate every tenant (migration job {0})")]
    [AutomaticRetry(Attempts = 0)]
    public async Task RunAsync(Guid id, CancellationToken ct)
    {
        if (!await StartAsync(id, ct))
        {
            return;
        }

        try
        {
            if (await PassAsync(id, ct))
            {
                jobs.Enqueue<MigrationJobs>(job => job.RunAsync(id, CancellationToken.None));
                return;
            }

            await FinishAsync(id, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogJobFailed(logger, id, e);
            await SetStatusAsync(id, "failed", CancellationToken.None);
            throw;
        }
    }

    /// <summary>Migrates the next batch of the job's tenants; says whether any is left after it.</summary>
    internal async Task<bool> PassAsync(Guid id, CancellationToken ct)
    {
        var batch = Math.Max(1, options.Value.MigrationBatchSize);
        var tenants = await catalog.ListUnreportedByMigrationJobAsync(id, batch + 1, ct);
        await migrator.MigrateAsync(tenants.Take(batch).ToList(), options.Value.MigrationParallelism, progress => RecordAsync(id, progress, ct), ct);
        return tenants.Count > batch;
    }

    /// <summary>Every tenant reported: the job's status and its one operator-trail record, from its per-tenant rows.</summary>
    private async Task FinishAsync(Guid id, CancellationToken ct)
    {
        int migrated, current;
        string[] failed;
        await using (var command = database.DataSource.CreateCommand(
            """
            SELECT count(*) FILTER (WHERE status = 'migrated')::int, count(*) FILTER (WHERE status = 'current')::int,
                   coalesce(array_agg(identifier) FILTER (WHERE status = 'failed'), '{}')
            FROM platform.migration_job_tenants WHERE job_id = $1
            """))
        {
            command.Parameters.AddWithValue(id);
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            (migrated, current, failed) = (reader.GetInt32(0), reader.GetInt32(1), reader.GetFieldValue<string[]>(2));
        }

        await migrator.RecordRunAsync(migrated, current, failed, ct);
        await SetStatusAsync(id, failed.Length > 0 ? "failed" : "succeeded", ct);
    }

    /// <summary>Marks the job running unless it has ended already (or was never accepted); says whether to run it.</summary>
    private async Task<bool> StartAsync(Guid id, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            """
            UPDATE platform.migration_jobs SET status = 'running', started_at = coalesce(started_at, now())
            WHERE id = $1 AND status IN ('queued', 'running')
            """);
        command.Parameters.AddWithValue(id);
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    private async Task RecordAsync(Guid id, TenantMigrationProgress progress, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            """
            INSERT INTO platform.migration_job_tenants AS t (job_id, identifier, status, version, attempts, error, finished_at)
            VALUES ($1, $2, $3, $4, $5, $6, now())
            ON CONFLICT (job_id, identifier) DO UPDATE
            -- A pass that runs again after a crash finds a tenant it had migrated current: it stays reported as migrated.
            SET status = CASE WHEN t.status = 'migrated' AND excluded.status = 'current' THEN 'migrated' ELSE excluded.status END, version = excluded.version, attempts = excluded.attempts, error = excluded.error, finished_at = now()
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(progress.Identifier);
        command.Parameters.AddWithValue(progress.State.ToString().ToLowerInvariant());
        command.Parameters.AddWithValue((object?)progress.Version ?? DBNull.Value);
        command.Parameters.AddWithValue(progress.Attempts);
        command.Parameters.AddWithValue((object?)progress.Error ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(ct);
    }

    private async Task SetStatusAsync(Guid id, string status, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            """
            UPDATE platform.migration_jobs SET status = $2,
                started_at = CASE WHEN $2 = 'running' THEN now() ELSE started_at END,
                finished_at = CASE WHEN $2 IN ('succeeded', 'failed') THEN now() ELSE finished_at END
            WHERE id = $1
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(status);
        await command.ExecuteNonQueryAsync(ct);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Migration job {JobId} failed")]
    private static partial void LogJobFailed(ILogger logger, Guid jobId, Exception exception);
}
