using Monolith.Tenancy.Contracts;
using Npgsql;
using NpgsqlTypes;

namespace Monolith.Tenancy.Provisioning;

internal sealed class MigrationRuns(PlatformDatabase database) : IMigrationRuns
{
    public async Task<IReadOnlyList<MigrationRun>> ListAsync((DateTimeOffset CreatedAt, Guid Id)? before, int limit, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            """
            SELECT j.id, j.status, j.target, j.created_at, j.started_at, j.finished_at, t.tenants, t.migrated, t.current, t.failed
            FROM platform.migration_jobs j
            LEFT JOIN LATERAL (
                SELECT count(*)::int AS tenants,
                       count(*) FILTER (WHERE status = 'migrated')::int AS migrated,
                       count(*) FILTER (WHERE status = 'current')::int AS current,
                       count(*) FILTER (WHERE status = 'failed')::int AS failed
                FROM platform.migration_job_tenants WHERE job_id = j.id
            ) t ON true
            WHERE $1::timestamptz IS NULL OR (j.created_at, j.id) < ($1, $2)
            ORDER BY j.created_at DESC, j.id DESC
            LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)before?.CreatedAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = before?.Id ?? Guid.Empty, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.AddWithValue(limit);

        var runs = new List<MigrationRun>(limit);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            runs.Add(new MigrationRun(
                reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetFieldValue<DateTimeOffset>(3),
                reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
                reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
                reader.GetInt32(6), reader.GetInt32(7), reader.GetInt32(8), reader.GetInt32(9)));
        }

        return runs;
    }
}
