using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Platform;
using Npgsql;

namespace Monolith.Auditing.Jobs;

internal sealed record RetentionTaskResult(string Task, long Removed, DateTimeOffset Cutoff);

internal sealed record MigrationRunSummary(string? Target, int Tenants, int Migrated, int Current, int Failed);

/// <summary>A backup's reason (requested, final) and size once completed; a restore's backup.</summary>
internal sealed record BackupRunSummary(string? Reason, long? SizeBytes, Guid? BackupId);

/// <summary>
/// A run of a platform job, newest first. <c>kind</c> "retention": one tenant's (or, with <c>tenant</c> null, the
/// global) retention run, with what each task removed; <c>source</c> is "schedule" (Hangfire) or "cli". <c>kind</c>
/// "migration": a <c>POST /platform/migrations</c> job with its per-tenant counts. <c>kind</c> "backup" / "restore": a
/// tenant's backup (requested or the final one of a purge) or a restore into a new tenant.
/// </summary>
internal sealed record JobRunResponse(
    Guid Id,
    string Kind,
    string Status,
    string? Source,
    string? Tenant,
    bool? DryRun,
    string? JobId,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<RetentionTaskResult>? Outcomes,
    MigrationRunSummary? Migration,
    string? Error,
    BackupRunSummary? Backup = null);

/// <summary><c>GET /platform/jobs?kind=&amp;limit=&amp;cursor=</c>: recent retention, migration, backup and restore runs.</summary>
internal static class ListJobRuns
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    internal sealed record Position(DateTimeOffset T, Guid I);

    public static async Task<Results<Ok<Page<JobRunResponse>>, ValidationProblem>> HandleAsync(
        string? kind, string? limit, string? cursor, HttpRequest request, PlatformDatabase database, IMigrationRuns migrations,
        IBackupRuns backups, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ListQuery.RejectUnknownParameters(request, errors, "kind", "limit", "cursor");
        var page = PageRequest.Parse(limit, cursor, errors);
        if (kind is not null and not ("retention" or "migration" or "backup" or "restore"))
        {
            errors.Add("kind", "kind must be retention, migration, backup or restore.");
        }

        Position? after = null;
        if (page.Cursor is not null && !Cursor.TryDecode(page.Cursor, out after))
        {
            errors.Add("cursor", Cursor.InvalidMessage);
        }

        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        // Retention runs are Auditing's; migration, backup and restore runs are Tenancy's, read through its contracts.
        // Each source gives its first page after the cursor; the newest of all make this page.
        var items = new List<JobRunResponse>(page.ReadCount * 2);
        if (kind is null or "retention")
        {
            items.AddRange(await RetentionRunsAsync(database, after, page.ReadCount, ct));
        }

        if (kind is null or "migration")
        {
            var runs = await migrations.ListAsync(after is null ? null : (after.T, after.I), page.ReadCount, ct);
            items.AddRange(runs.Select(run => new JobRunResponse(
                run.Id, "migration", run.Status, null, null, null, null, run.CreatedAt, run.StartedAt, run.FinishedAt, null,
                new MigrationRunSummary(run.Target, run.Tenants, run.Migrated, run.Current, run.Failed), null)));
        }

        if (kind is null or "backup" or "restore")
        {
            var runs = await backups.ListAsync(kind, after is null ? null : (after.T, after.I), page.ReadCount, ct);
            items.AddRange(runs.Select(run => new JobRunResponse(
                run.Id, run.Kind, run.Status, null, run.Tenant, null, null, run.CreatedAt, run.CreatedAt, run.FinishedAt, null, null, run.Error,
                new BackupRunSummary(run.Reason, run.SizeBytes, run.BackupId))));
        }

        var newest = items.OrderByDescending(item => item.CreatedAt).ThenByDescending(item => item.Id).Take(page.ReadCount).ToList();
        return TypedResults.Ok(page.ToPage(newest, item => new Position(item.CreatedAt, item.Id)));
    }

    private static async Task<List<JobRunResponse>> RetentionRunsAsync(PlatformDatabase database, Position? after, int limit, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            """
            SELECT r.id, r.status, r.source, r.tenant, r.dry_run, r.job_id, r.started_at, r.finished_at, r.outcomes::text, r.error
            FROM platform.retention_runs r
            WHERE $1::timestamptz IS NULL OR (r.started_at, r.id) < ($1, $2)
            ORDER BY r.started_at DESC, r.id DESC
            LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)after?.T ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = after?.I ?? Guid.Empty, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        command.Parameters.AddWithValue(limit);

        var runs = new List<JobRunResponse>(limit);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            runs.Add(Read(reader));
        }

        return runs;
    }

    private static JobRunResponse Read(NpgsqlDataReader reader)
    {
        T? Nullable<T>(int i) => reader.IsDBNull(i) ? default : reader.GetFieldValue<T>(i);
        var startedAt = reader.GetFieldValue<DateTimeOffset>(6);
        var outcomes = reader.IsDBNull(8) ? null : JsonSerializer.Deserialize<List<RetentionTaskResult>>(reader.GetString(8), Json);
        return new JobRunResponse(
            reader.GetGuid(0), "retention", reader.GetString(1), Nullable<string>(2), Nullable<string>(3),
            reader.IsDBNull(4) ? null : reader.GetBoolean(4), Nullable<string>(5),
            startedAt, startedAt,
            reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7),
            outcomes, null, Nullable<string>(9));
    }
}
