using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Npgsql;
using NpgsqlTypes;

namespace Monolith.Auditing.Retention;

/// <summary>How a tenant's (or the global) retention run ended.</summary>
public enum RetentionRunStatus
{
    Succeeded,
    Failed,
    /// <summary>Another run (another instance's job or the CLI) held this tenant's retention lock.</summary>
    Skipped,
}

public sealed record RetentionRunResult(string? Tenant, RetentionRunStatus Status, IReadOnlyList<RetentionOutcome> Outcomes, string? Error);

public static class RetentionSources
{
    public const string Schedule = "schedule";
    public const string Cli = "cli";
    public const string Manual = "manual";
}

/// <summary>
/// Runs every registered <see cref="IRetentionTask"/>: the global part once, then each tenant with its own policy,
/// inside that tenant's context, under a per-tenant advisory lock (never two runs for one tenant at once, across
/// instances and the CLI), with each run recorded in <c>platform.retention_runs</c>. "Now" comes from the
/// injected <see cref="TimeProvider"/>, so tests can move time.
/// </summary>
public sealed partial class RetentionRunner(
    IEnumerable<IRetentionTask> tasks,
    ITenantDirectory directory,
    IOperatorTrail trail,
    PlatformDatabase database,
    TenantContext tenants,
    TimeProvider clock,
    ILogger<RetentionRunner> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public IReadOnlyList<IRetentionTask> Tasks { get; } = tasks.ToArray();

    /// <summary>The global part of every task (for example dropping whole log partitions).</summary>
    public async Task<RetentionRunResult> RunGlobalAsync(bool dryRun, string source, string? jobId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var live = await directory.ListLiveAsync(ct);
        await using var connection = await database.OpenConnectionAsync(ct);
        const string lockName = "monolith-retention:*";
        if (!await TryLockAsync(connection, lockName, ct))
        {
            return await RecordSkippedAsync(null, dryRun, source, jobId, ct);
        }

        try
        {
            return await RecordAsync(null, dryRun, source, jobId, async outcomes =>
            {
                foreach (var task in Tasks)
                {
                    if (await task.RunGlobalAsync(now, live, dryRun, ct) is { } outcome)
                    {
                        outcomes.Add(outcome);
                    }
                }
            }, ct);
        }
        finally
        {
            await UnlockAsync(connection, lockName);
        }
    }

    /// <summary>Every task for one tenant. Throws when a task fails (after recording it), so a job is retried.</summary>
    public Task<RetentionRunResult> RunTenantAsync(TenantInfo tenant, bool dryRun, string source, string? jobId, CancellationToken ct) =>
        RunTenantAsync(tenant, dryRun, source, jobId, passId: null, ct);

    /// <summary>As <see cref="RunTenantAsync(TenantInfo, bool, string, string?, CancellationToken)"/>, recorded as part of a pass.</summary>
    internal async Task<RetentionRunResult> RunTenantAsync(TenantInfo tenant, bool dryRun, string source, string? jobId, Guid? passId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var connection = await database.OpenConnectionAsync(ct);
        var lockName = "monolith-retention:" + tenant.Identifier;
        if (!await TryLockAsync(connection, lockName, ct))
        {
            LogSkipped(logger, tenant.Identifier);
            return await RecordSkippedAsync(tenant.Identifier, dryRun, source, jobId, ct, passId);
        }

        try
        {
            using var scope = tenants.Current?.Id == tenant.Id ? null : tenants.Enter(tenant);
            return await RecordAsync(tenant.Identifier, dryRun, source, jobId, async outcomes =>
            {
                foreach (var task in Tasks)
                {
                    outcomes.Add(await task.RunForTenantAsync(tenant, now, dryRun, ct));
                }
            }, ct, passId);
        }
        finally
        {
            await UnlockAsync(connection, lockName);
        }
    }

    private async Task<RetentionRunResult> RecordAsync(
        string? tenant, bool dryRun, string source, string? jobId, Func<List<RetentionOutcome>, Task> work, CancellationToken ct, Guid? passId = null)
    {
        var result = await RunRecordedAsync(tenant, dryRun, source, jobId, work, passId, ct);
        var tenantId = tenant is null ? null : (await directory.FindAsync(tenant, ct))?.Id;
        var detail = (dryRun ? "dry run: " : "") + (result.Outcomes.Count == 0
            ? "nothing to do"
            : string.Join("; ", result.Outcomes.Select(o => $"{o.Task}: {o.Removed} {(dryRun ? "would be removed" : "removed")} before {o.Cutoff:O}")));
        await trail.RecordAsync(PlatformOperations.RetentionRun, tenant, tenantId, succeeded: true, detail, ct);
        return result;
    }

    private async Task<RetentionRunResult> RunRecordedAsync(
        string? tenant, bool dryRun, string source, string? jobId, Func<List<RetentionOutcome>, Task> work, Guid? passId, CancellationToken ct)
    {
        var id = Guid.CreateVersion7();
        await using (var insert = database.DataSource.CreateCommand(
            "INSERT INTO platform.retention_runs (id, source, tenant, dry_run, status, job_id, pass_id) VALUES ($1, $2, $3, $4, 'running', $5, $6)"))
        {
            insert.Parameters.AddWithValue(id);
            insert.Parameters.AddWithValue(source);
            insert.Parameters.AddWithValue((object?)tenant ?? DBNull.Value);
            insert.Parameters.AddWithValue(dryRun);
            insert.Parameters.AddWithValue((object?)jobId ?? DBNull.Value);
            insert.Parameters.Add(new NpgsqlParameter { Value = (object?)passId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
            await insert.ExecuteNonQueryAsync(ct);
        }

        var outcomes = new List<RetentionOutcome>();
        try
        {
            await work(outcomes);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // What clients of GET /platform/jobs see: the kind of failure, never a message that may carry SQL.
            var error = e is NpgsqlException ? "database error" : e.GetType().Name;
            LogFailed(logger, tenant ?? "*", e);
            await FinishAsync(id, "failed", outcomes, error, CancellationToken.None);
            await trail.RecordAsync(PlatformOperations.RetentionRun, tenant, null, succeeded: false, $"{(dryRun ? "dry run " : "")}failed: {error}", CancellationToken.None);
            throw;
        }
        catch (OperationCanceledException)
        {
            // A shutdown: what committed stays (every task removes in committed batches); the run is not left "running".
            await FinishAsync(id, "failed", outcomes, "interrupted", CancellationToken.None);
            throw;
        }

        await FinishAsync(id, "succeeded", outcomes, null, ct);
        foreach (var outcome in outcomes)
        {
            LogOutcome(logger, outcome.Task, outcome.Tenant ?? "*", outcome.Removed, outcome.Cutoff, dryRun);
        }

        return new RetentionRunResult(tenant, RetentionRunStatus.Succeeded, outcomes, null);
    }

    private async Task<RetentionRunResult> RecordSkippedAsync(
        string? tenant, bool dryRun, string source, string? jobId, CancellationToken ct, Guid? passId = null)
    {
        await using var insert = database.DataSource.CreateCommand(
            """
            INSERT INTO platform.retention_runs (id, source, tenant, dry_run, status, job_id, error, finished_at, pass_id)
            VALUES ($1, $2, $3, $4, 'skipped', $5, 'another retention run holds this tenant', now(), $6)
            """);
        insert.Parameters.AddWithValue(Guid.CreateVersion7());
        insert.Parameters.AddWithValue(source);
        insert.Parameters.AddWithValue((object?)tenant ?? DBNull.Value);
        insert.Parameters.AddWithValue(dryRun);
        insert.Parameters.AddWithValue((object?)jobId ?? DBNull.Value);
        insert.Parameters.Add(new NpgsqlParameter { Value = (object?)passId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        await insert.ExecuteNonQueryAsync(ct);
        await trail.RecordAsync(PlatformOperations.RetentionRun, tenant, null, succeeded: false, "skipped: another retention run holds this tenant", ct);
        return new RetentionRunResult(tenant, RetentionRunStatus.Skipped, [], "another retention run holds this tenant");
    }

    private async Task FinishAsync(Guid id, string status, List<RetentionOutcome> outcomes, string? error, CancellationToken ct)
    {
        await using var update = database.DataSource.CreateCommand(
            "UPDATE platform.retention_runs SET status = $2, outcomes = $3, error = $4, finished_at = now() WHERE id = $1");
        update.Parameters.AddWithValue(id);
        update.Parameters.AddWithValue(status);
        update.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(outcomes.Select(o => new { o.Task, o.Removed, o.Cutoff }), Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
        update.Parameters.AddWithValue((object?)error ?? DBNull.Value);
        await update.ExecuteNonQueryAsync(ct);
    }

    private static async Task<bool> TryLockAsync(NpgsqlConnection connection, string name, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", connection);
        command.Parameters.AddWithValue(LockKey(name));
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Explicitly: Npgsql resets a pooled connection lazily (on its next use), so the lock would outlive the run.</summary>
    private static async Task UnlockAsync(NpgsqlConnection connection, string name)
    {
        if (connection.State != System.Data.ConnectionState.Open)
        {
            return;
        }

        try
        {
            await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", connection);
            command.Parameters.AddWithValue(LockKey(name));
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (NpgsqlException)
        {
            // The connection is broken: the session, and its lock, are gone with it.
        }
    }

    private static long LockKey(string name) => BinaryPrimitives.ReadInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(name)));

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention {Task} for {Tenant}: {Removed} record(s) older than {Cutoff} (dry run: {DryRun})")]
    private static partial void LogOutcome(ILogger logger, string task, string tenant, long removed, DateTimeOffset cutoff, bool dryRun);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention for {Tenant} skipped: another run holds its lock")]
    private static partial void LogSkipped(ILogger logger, string tenant);

    [LoggerMessage(Level = LogLevel.Error, Message = "Retention for {Tenant} failed; it will be retried")]
    private static partial void LogFailed(ILogger logger, string tenant, Exception exception);
}
