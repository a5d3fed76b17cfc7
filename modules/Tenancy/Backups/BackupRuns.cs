using Monolith.Tenancy.Contracts;
using Npgsql;
using NpgsqlTypes;

namespace Monolith.Tenancy.Backups;

internal sealed class BackupRuns(PlatformDatabase database) : IBackupRuns
{
    public async Task<IReadOnlyList<BackupRun>> ListAsync(string? kind, (DateTimeOffset CreatedAt, Guid Id)? before, int limit, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            """
            SELECT * FROM (
                SELECT b.id, 'backup' AS kind, b.status, b.tenant, b.created_at, b.completed_at AS finished_at, b.reason, b.size_bytes,
                       NULL::uuid AS backup_id, b.error
                FROM platform.backups b
                WHERE $4::text IS DISTINCT FROM 'restore' AND ($1::timestamptz IS NULL OR (b.created_at, b.id) < ($1, $2))
                ORDER BY b.created_at DESC, b.id DESC LIMIT $3) backups
            UNION ALL
            SELECT * FROM (
                SELECT r.id, 'restore', r.status, r.identifier, r.created_at, r.finished_at, NULL::text, NULL::bigint, r.backup_id, r.error
                FROM platform.restores r
                WHERE $4::text IS DISTINCT FROM 'backup' AND ($1::timestamptz IS NULL OR (r.created_at, r.id) < ($1, $2))
                ORDER BY r.created_at DESC, r.id DESC LIMIT $3) restores
            ORDER BY created_at DESC, id DESC
            LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)before?.CreatedAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = before?.Id ?? Guid.Empty, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.AddWithValue(limit);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)kind ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });

        var runs = new List<BackupRun>(limit);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            runs.Add(new BackupRun(
                reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4),
                reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetInt64(7),
                reader.IsDBNull(8) ? null : reader.GetGuid(8),
                reader.IsDBNull(9) ? null : reader.GetString(9)));
        }

        return runs;
    }
}
