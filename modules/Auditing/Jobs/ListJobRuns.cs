using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy;
using Monolith.Tenancy.Platform;
using Npgsql;

namespace Monolith.Auditing.Jobs;

internal sealed record RetentionTaskResult(string Task, long Removed, DateTimeOffset Cutoff);

internal sealed record MigrationRunSummary(string? Target, int Tenants, int Migrated, int Current, int Failed);

/// <summary>
/// A run of a platform job, newest first. <c>kind</c> "retention": one tenant's (or, with <c>tenant</c> null, the
/// global) retention run, with what each task removed; <c>source</c> is "schedule" (Hangfire) or "cli". <c>kind</c>
/// "migration": a <c>POST /platform/migrations</c> job with its per-tenant counts.
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
    string? Error);

/// <summary><c>GET /platform/jobs?kind=&amp;limit=&amp;cursor=</c>: recent retention and migration runs.</summary>
internal static class ListJobRuns
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    internal sealed record Position(DateTimeOffset T, Guid I);

    public static async Task<Results<Ok<Page<JobRunResponse>>, ValidationProblem>> HandleAsync(
        string? kind, string? limit, string? cursor, HttpRequest request, PlatformDatabase database, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ListQuery.RejectUnknownParameters(request, errors, "kind", "limit", "cursor");
        var page = PageRequest.Parse(limit, cursor, errors);
        if (kind is not null and not ("retention" or "migration"))
        {
            errors.Add("kind", "kind must be retention or migration.");
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

        await using var command = database.DataSource.CreateCommand(
            """
            SELECT kind, id, status, source, tenant, dry_run, job_id, created_at, started_at, finished_at, outcomes, error,
                   target, tenants, migrated, current, failed
            FROM (
                SELECT 'retention' AS kind, r.id, r.status, r.source, r.tenant, r.dry_run, r.job_id, r.started_at AS created_at,
                       r.started_at, r.finished_at, r.outcomes::text AS outcomes, r.error,
                       NULL::text AS target, NULL::int AS tenants, NULL::int AS migrated, NULL::int AS current, NULL::int AS failed
                FROM platform.retention_runs r
                UNION ALL
                SELECT 'migration', j.id, j.status, NULL, NULL, NULL, NULL, j.created_at, j.started_at, j.finished_at, NULL, NULL,
                       j.target, t.tenants, t.migrated, t.current, t.failed
                FROM platform.migration_jobs j
                LEFT JOIN LATERAL (
                    SELECT count(*)::int AS tenants,
                           count(*) FILTER (WHERE status = 'migrated')::int AS migrated,
                           count(*) FILTER (WHERE status = 'current')::int AS current,
                           count(*) FILTER (WHERE status = 'failed')::int AS failed
                    FROM platform.migration_job_tenants WHERE job_id = j.id
                ) t ON true
            ) runs
            WHERE ($1::text IS NULL OR kind = $1)
              AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
            ORDER BY created_at DESC, id DESC
            LIMIT $4
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)kind ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)after?.T ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = after?.I ?? Guid.Empty, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        command.Parameters.AddWithValue(page.ReadCount);

        var items = new List<JobRunResponse>(page.ReadCount);
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                items.Add(Read(reader));
            }
        }

        return TypedResults.Ok(page.ToPage(items, item => new Position(item.CreatedAt, item.Id)));
    }

    private static JobRunResponse Read(NpgsqlDataReader reader)
    {
        var kind = reader.GetString(0);
        T? Nullable<T>(int i) => reader.IsDBNull(i) ? default : reader.GetFieldValue<T>(i);
        var outcomes = kind == "retention" && !reader.IsDBNull(10)
            ? JsonSerializer.Deserialize<List<RetentionTaskResult>>(reader.GetString(10), Json)
            : null;
        var migration = kind == "migration"
            ? new MigrationRunSummary(Nullable<string>(12), reader.GetInt32(13), reader.GetInt32(14), reader.GetInt32(15), reader.GetInt32(16))
            : null;
        return new JobRunResponse(
            reader.GetGuid(1), kind, reader.GetString(2), Nullable<string>(3), Nullable<string>(4),
            reader.IsDBNull(5) ? null : reader.GetBoolean(5), Nullable<string>(6),
            reader.GetFieldValue<DateTimeOffset>(7),
            reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8),
            reader.IsDBNull(9) ? null : reader.GetFieldValue<DateTimeOffset>(9),
            outcomes, migration, Nullable<string>(11));
    }
}
