using Npgsql;
using NpgsqlTypes;
using Monolith.Tenancy.Placement;

namespace Monolith.Tenancy.Catalog;

/// <summary>
/// Reads and writes <c>platform.tenants</c>. Uncached: callers that serve requests go through <see cref="TenantCatalogCache"/>.
/// A lookup by identifier reads through the request role's pool (it runs on the request path, and that role may read the
/// catalog); everything else is platform work on the owner's pool.
/// </summary>
internal sealed class TenantCatalog(PlatformDatabase database, TenantServers servers)
{
    private const string Columns =
        "id, identifier, name, schema_name, role_name, status, schema_version, audit_retention_days, log_retention_days, created_at, updated_at, " +
        "statement_timeout_ms, max_concurrency, deleted_at, purge_after, server, moving_to";

    public async Task<TenantInfo?> FindAsync(string identifier, CancellationToken ct)
    {
        await using var command = database.RequestDataSource.CreateCommand($"SELECT {Columns} FROM platform.tenants WHERE identifier = $1");
        command.Parameters.AddWithValue(identifier);
        return await ReadSingleAsync(command, ct);
    }

    public async Task<IReadOnlyList<TenantInfo>> ListAsync(string? status, string? afterIdentifier, int limit, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            $"""
             SELECT {Columns} FROM platform.tenants
             WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR identifier > $2)
             ORDER BY identifier LIMIT $3
             """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)status ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)afterIdentifier ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.AddWithValue(limit);
        return await ReadAllAsync(command, ct);
    }

    /// <summary>Tenants whose schema exists and is in use: the ones to migrate and to run jobs for.</summary>
    public async Task<IReadOnlyList<TenantInfo>> ListLiveAsync(CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            $"SELECT {Columns} FROM platform.tenants WHERE status IN ('active', 'suspended') ORDER BY identifier");
        return await ReadAllAsync(command, ct);
    }

    /// <summary>Tenants whose schema exists: the live ones and the deleted ones in their grace (an undelete finds them current).</summary>
    public async Task<IReadOnlyList<TenantInfo>> ListWithSchemaAsync(CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            $"SELECT {Columns} FROM platform.tenants WHERE status IN ('active', 'suspended', 'deleted') ORDER BY identifier");
        return await ReadAllAsync(command, ct);
    }

    /// <summary>
    /// The next tenants (by identifier) with a schema that migration job <paramref name="jobId"/> has not reported on: what its
    /// next pass works on.
    /// </summary>
    public async Task<IReadOnlyList<TenantInfo>> ListUnreportedByMigrationJobAsync(Guid jobId, int limit, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            $"""
             SELECT {Columns} FROM platform.tenants t
             WHERE status IN ('active', 'suspended', 'deleted')
               AND NOT EXISTS (SELECT 1 FROM platform.migration_job_tenants j WHERE j.job_id = $1 AND j.identifier = t.identifier)
             ORDER BY identifier LIMIT $2
             """);
        command.Parameters.AddWithValue(jobId);
        command.Parameters.AddWithValue(limit);
        return await ReadAllAsync(command, ct);
    }

    /// <summary>Deleted tenants whose grace ended by <paramref name="now"/>, and purges that stopped midway (<c>deleting</c>).</summary>
    public async Task<IReadOnlyList<TenantInfo>> ListDueForPurgeAsync(DateTimeOffset now, int limit, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            $"""
             SELECT {Columns} FROM platform.tenants
             WHERE (status = 'deleted' AND purge_after <= $1) OR status = 'deleting'
             ORDER BY purge_after NULLS FIRST, identifier LIMIT $2
             """);
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(limit);
        return await ReadAllAsync(command, ct);
    }

    public async Task InsertAsync(TenantInfo tenant, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            """
            INSERT INTO platform.tenants (id, identifier, name, schema_name, role_name, status, server)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """);
        command.Parameters.AddWithValue(tenant.Id);
        command.Parameters.AddWithValue(tenant.Identifier);
        command.Parameters.AddWithValue(tenant.Name);
        command.Parameters.AddWithValue(tenant.SchemaName);
        command.Parameters.AddWithValue(tenant.RoleName);
        command.Parameters.AddWithValue(tenant.Status);
        command.Parameters.AddWithValue(tenant.Server);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Moves a tenant to <paramref name="to"/> when it is in one of <paramref name="from"/>; null when it is not.</summary>
    public async Task<TenantInfo?> TransitionAsync(Guid id, string[] from, string to, CancellationToken ct, NpgsqlTransaction? transaction = null)
    {
        await using var command = Command(
            $"""
             UPDATE platform.tenants SET status = $3, updated_at = now(),
                 deleted_at = CASE WHEN $3 = 'deleted' THEN deleted_at END, purge_after = CASE WHEN $3 = 'deleted' THEN purge_after END
             WHERE id = $1 AND status = ANY($2) RETURNING {Columns}
             """, transaction);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(from);
        command.Parameters.AddWithValue(to);
        return await MirroredAsync(await ReadSingleAsync(command, ct), ct);
    }

    /// <summary>Marks a live tenant deleted until <paramref name="purgeAfter"/>; null when it is not live.</summary>
    public async Task<TenantInfo?> MarkDeletedAsync(Guid id, DateTimeOffset now, DateTimeOffset purgeAfter, NpgsqlTransaction transaction, CancellationToken ct)
    {
        await using var command = Command(
            $"""
             UPDATE platform.tenants SET status = 'deleted', deleted_at = $2, purge_after = $3, updated_at = now()
             WHERE id = $1 AND status IN ('active', 'suspended') RETURNING {Columns}
             """, transaction);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(now);
        command.Parameters.AddWithValue(purgeAfter);
        return await MirroredAsync(await ReadSingleAsync(command, ct), ct);
    }

    /// <summary>
    /// A status change reaches the tenant's copy on its server (<see cref="TenantMirror"/>) at once, ahead of the catalog's
    /// commit: the copy's status only steers which tenants that server's anchoring pass visits, which it repeats.
    /// </summary>
    private async Task<TenantInfo?> MirroredAsync(TenantInfo? tenant, CancellationToken ct)
    {
        if (tenant is not null && tenant.Server != TenantServers.Catalog)
        {
            await TenantMirror.WriteAsync(tenant.Server, await servers.ForAsync(tenant, ct), tenant, null, ct);
        }

        return tenant;
    }

    /// <summary>A restored tenant takes the original's own settings (retention, bounds); null ones stay the defaults.</summary>
    public async Task SetRestoredSettingsAsync(Guid id, TenantInfo original, NpgsqlTransaction transaction, CancellationToken ct)
    {
        await using var command = Command(
            "UPDATE platform.tenants SET audit_retention_days = $2, log_retention_days = $3, statement_timeout_ms = $4, max_concurrency = $5 WHERE id = $1",
            transaction);
        command.Parameters.AddWithValue(id);
        foreach (var value in new[] { original.AuditRetentionDays, original.LogRetentionDays, original.StatementTimeoutMs, original.MaxConcurrency })
        {
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        }

        await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<TenantInfo?> SetSchemaVersionAsync(Guid id, string? version, CancellationToken ct, NpgsqlTransaction? transaction = null)
    {
        await using var command = Command(
            $"UPDATE platform.tenants SET schema_version = $2, updated_at = now() WHERE id = $1 RETURNING {Columns}", transaction);
        command.Parameters.AddWithValue(id);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)version ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        return await ReadSingleAsync(command, ct);
    }

    public async Task<TenantInfo?> UpdateAsync(string identifier, TenantChanges changes, CancellationToken ct, NpgsqlTransaction? transaction = null)
    {
        await using var command = Command(
            $"""
             UPDATE platform.tenants SET
                 name = COALESCE($2, name),
                 audit_retention_days = CASE WHEN $3 THEN $4 ELSE audit_retention_days END,
                 log_retention_days = CASE WHEN $5 THEN $6 ELSE log_retention_days END,
                 statement_timeout_ms = CASE WHEN $7 THEN $8 ELSE statement_timeout_ms END,
                 max_concurrency = CASE WHEN $9 THEN $10 ELSE max_concurrency END,
                 updated_at = now()
             WHERE identifier = $1 AND status IN ('active', 'suspended')
             RETURNING {Columns}
             """, transaction);
        command.Parameters.AddWithValue(identifier);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)changes.Name ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        foreach (var setting in new[] { changes.AuditRetentionDays, changes.LogRetentionDays, changes.StatementTimeoutMs, changes.MaxConcurrency })
        {
            command.Parameters.AddWithValue(setting.Given);
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)setting.Value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        }

        return await ReadSingleAsync(command, ct);
    }

    /// <summary>Marks a move under way (writes refused) or, with null, over without a switch.</summary>
    public async Task SetMovingToAsync(Guid id, string? server, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand("UPDATE platform.tenants SET moving_to = $2, updated_at = now() WHERE id = $1");
        command.Parameters.AddWithValue(id);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)server ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>A move's switch: the tenant is on <paramref name="server"/> from this transaction's commit.</summary>
    public async Task SwitchServerAsync(Guid id, string server, NpgsqlTransaction transaction, CancellationToken ct)
    {
        await using var command = Command("UPDATE platform.tenants SET server = $2, moving_to = NULL, updated_at = now() WHERE id = $1", transaction);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(server);
        await command.ExecuteNonQueryAsync(ct);
    }

    public async Task DeleteRowAsync(Guid id, CancellationToken ct, NpgsqlTransaction? transaction = null)
    {
        await using var command = Command("DELETE FROM platform.tenants WHERE id = $1", transaction);
        command.Parameters.AddWithValue(id);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>On the owner pool, or inside a platform operation's transaction (so its operator-trail record commits with it).</summary>
    private NpgsqlCommand Command(string sql, NpgsqlTransaction? transaction) =>
        transaction is null ? database.DataSource.CreateCommand(sql) : new NpgsqlCommand(sql, transaction.Connection, transaction);

    private static async Task<TenantInfo?> ReadSingleAsync(NpgsqlCommand command, CancellationToken ct)
    {
        var rows = await ReadAllAsync(command, ct);
        return rows.Count == 0 ? null : rows[0];
    }

    private static async Task<IReadOnlyList<TenantInfo>> ReadAllAsync(NpgsqlCommand command, CancellationToken ct)
    {
        var result = new List<TenantInfo>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            result.Add(new TenantInfo(
                reader.GetGuid(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3),
                reader.GetString(4),
                reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetInt32(7),
                reader.IsDBNull(8) ? null : reader.GetInt32(8),
                reader.GetFieldValue<DateTimeOffset>(9),
                reader.GetFieldValue<DateTimeOffset>(10),
                reader.IsDBNull(11) ? null : reader.GetInt32(11),
                reader.IsDBNull(12) ? null : reader.GetInt32(12),
                reader.IsDBNull(13) ? null : reader.GetFieldValue<DateTimeOffset>(13),
                reader.IsDBNull(14) ? null : reader.GetFieldValue<DateTimeOffset>(14),
                reader.GetString(15),
                reader.IsDBNull(16) ? null : reader.GetString(16)));
        }

        return result;
    }
}
