using System.Security.Cryptography;
using System.Text.Json;
using Hangfire;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Operators;
using Monolith.Tenancy.Placement;
using Npgsql;
using NpgsqlTypes;

namespace Monolith.Tenancy.Backups;

internal sealed record BackupResponse(
    Guid Id, string Tenant, string Status, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt, long? SizeBytes, string? Sha256, string? SchemaVersion);

/// <summary>A completed backup: what the catalog knew of the tenant, where its file is, and the file's sha256.</summary>
internal sealed record BackupSource(Guid Id, TenantInfo Tenant, string Path, string Sha256);

internal enum BackupStart
{
    Accepted,
    UnknownTenant,
    NotBackedUp,
}

/// <summary>
/// Backs up one tenant: a <c>pg_dump</c> (custom format) of its schema made by the owner role, written under
/// <see cref="BackupOptions.Directory"/> as <c>&lt;tenant&gt;/&lt;id&gt;.dump</c> next to <c>&lt;id&gt;.json</c> (what the
/// catalog knows of the tenant, and the dump's sha256), with its size and sha256 in <c>platform.backups</c>. A dump is
/// written to a <c>.partial</c> file first and renamed once complete, so a file under its final name is always whole.
/// The job (<see cref="RunAsync"/>) is idempotent: a host that died mid-dump leaves the row <c>running</c>, and the retried
/// job dumps again.
/// </summary>
internal sealed partial class TenantBackups(
    PlatformDatabase database,
    TenantServers servers,
    TenantCatalog catalog,
    OperatorTrail trail,
    IOptions<BackupOptions> options,
    TimeProvider clock,
    ILogger<TenantBackups> logger)
{
    public const string RequestedReason = "requested";

    public const string FinalReason = "final";

    /// <summary>Taken by a move, under its write freeze: the tenant as it left its server.</summary>
    public const string MoveReason = "move";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly PostgresTools tools = new(options.Value.PgBinDirectory);

    /// <summary>The PostgreSQL client tools backups use (the tenant template dumps with them too).</summary>
    public PostgresTools Tools => tools;

    /// <summary>Records a running backup of a live or deleted tenant; the caller runs or enqueues <see cref="RunAsync"/>.</summary>
    public async Task<(BackupStart Start, BackupResponse? Backup)> CreateAsync(string identifier, string reason, CancellationToken ct)
    {
        var tenant = await catalog.FindAsync(identifier, ct);
        if (tenant is null)
        {
            await trail.FailedAsync(OperatorActions.TenantBackup, new OperatorSubject(TenantIdentifier.IsValid(identifier) ? identifier : null),
                "No tenant with that identifier exists.", ct);
            return (BackupStart.UnknownTenant, null);
        }

        // A final backup is taken while the purge holds the tenant in 'deleting' (no request reaches it any more).
        if (tenant.Status is not (TenantStatus.Active or TenantStatus.Suspended or TenantStatus.Deleted)
            && !(reason == FinalReason && tenant.Status == TenantStatus.Deleting))
        {
            await trail.FailedAsync(OperatorActions.TenantBackup, new OperatorSubject(identifier, tenant.Id), $"Tenant '{identifier}' is {tenant.Status}.", ct);
            return (BackupStart.NotBackedUp, null);
        }

        var id = Guid.CreateVersion7();
        await using var command = database.DataSource.CreateCommand(
            """
            INSERT INTO platform.backups (id, tenant_id, tenant, status, reason, file_name, schema_version, catalog)
            VALUES ($1, $2, $3, 'running', $4, $5, $6, $7)
            RETURNING id, tenant, status, created_at, completed_at, size_bytes, sha256, schema_version
            """);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(tenant.Id);
        command.Parameters.AddWithValue(tenant.Identifier);
        command.Parameters.AddWithValue(reason);
        command.Parameters.AddWithValue(Path.Combine(tenant.Identifier, $"{id}.dump"));
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)tenant.SchemaVersion ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(tenant, Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
        return (BackupStart.Accepted, await ReadSingleAsync(command, ct));
    }

    /// <summary>The job: dumps the backup's tenant, then marks it completed (with its trail record) or failed.</summary>
    [AutomaticRetry(Attempts = 0)] // a failure is final (the row says why); a host that died mid-dump has its job requeued by Hangfire
    public Task RunAsync(Guid backupId, CancellationToken ct) => RunAtAsync(backupId, null, ct);

    /// <param name="snapshot">An exported snapshot (<c>pg_export_snapshot()</c>) of the tenant's server to dump at, or null.</param>
    private async Task RunAtAsync(Guid backupId, string? snapshot, CancellationToken ct)
    {
        var row = await FindRowAsync(backupId, ct);
        if (row is null || row.Value.Status != "running")
        {
            return;
        }

        var (tenant, fileName) = (row.Value.Tenant, row.Value.FileName);
        var path = Path.Combine(options.Value.Directory, fileName);
        try
        {
            var (size, sha256) = await DumpAsync(tenant, path, snapshot, ct);
            await using var work = await trail.BeginAsync(ct);
            await using (var done = new NpgsqlCommand(
                "UPDATE platform.backups SET status = 'completed', completed_at = $2, size_bytes = $3, sha256 = $4 WHERE id = $1 AND status = 'running'",
                work.Connection, work.Transaction))
            {
                done.Parameters.AddWithValue(backupId);
                done.Parameters.AddWithValue(clock.GetUtcNow());
                done.Parameters.AddWithValue(size);
                done.Parameters.AddWithValue(sha256);
                await done.ExecuteNonQueryAsync(ct);
            }

            await work.SucceededAsync(OperatorActions.TenantBackup, new OperatorSubject(tenant.Identifier, tenant.Id),
                $"backup {backupId}: {size} bytes, sha256 {sha256}", ct);
            LogBackedUp(logger, tenant.Identifier, backupId, size);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            LogBackupFailed(logger, tenant.Identifier, backupId, e);
            await FailAsync(backupId, tenant, e.Message, CancellationToken.None);
            throw;
        }
    }

    /// <summary>Backs up now, in the caller's flow (the CLI, a final backup before a purge); the completed backup.</summary>
    /// <param name="snapshot">
    /// An exported snapshot of the tenant's server (a move dumps what one transaction saw, while writes go on), or null.
    /// </param>
    public async Task<BackupResponse?> BackUpNowAsync(string identifier, string reason, CancellationToken ct, string? snapshot = null)
    {
        var (start, backup) = await CreateAsync(identifier, reason, ct);
        if (start != BackupStart.Accepted)
        {
            return null;
        }

        await RunAtAsync(backup!.Id, snapshot, ct);
        return await FindAsync(backup.Id, ct);
    }

    public async Task<BackupResponse?> FindAsync(Guid id, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand($"SELECT {Columns} FROM platform.backups WHERE id = $1");
        command.Parameters.AddWithValue(id);
        return await ReadSingleAsync(command, ct);
    }

    /// <summary>A tenant's backups (a purged tenant's too), newest first; <paramref name="before"/> is the last id of the previous page.</summary>
    public async Task<IReadOnlyList<BackupResponse>> ListAsync(string identifier, Guid? before, int limit, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            $"SELECT {Columns} FROM platform.backups WHERE tenant = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3");
        command.Parameters.AddWithValue(identifier);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)before ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.AddWithValue(limit);
        var result = new List<BackupResponse>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            result.Add(Read(reader));
        }

        return result;
    }

    /// <summary>Removes completed and failed backups older than <see cref="BackupOptions.RetentionDays"/>: files first, then rows.</summary>
    public async Task<int> RemoveExpiredAsync(CancellationToken ct)
    {
        var cutoff = clock.GetUtcNow().AddDays(-Math.Max(1, options.Value.RetentionDays));
        var expired = new List<(Guid Id, string FileName)>();
        await using (var list = database.DataSource.CreateCommand(
                         "SELECT id, file_name FROM platform.backups WHERE status <> 'running' AND created_at < $1 ORDER BY created_at"))
        {
            list.Parameters.AddWithValue(cutoff);
            await using var reader = await list.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                expired.Add((reader.GetGuid(0), reader.GetString(1)));
            }
        }

        foreach (var (id, fileName) in expired)
        {
            // A failed backup may have left no file, nor even its tenant's folder.
            var path = Path.Combine(options.Value.Directory, fileName);
            foreach (var file in new[] { path, path + ".partial", Path.ChangeExtension(path, ".json") }.Where(File.Exists))
            {
                File.Delete(file);
            }
            await using var delete = database.DataSource.CreateCommand("DELETE FROM platform.backups WHERE id = $1");
            delete.Parameters.AddWithValue(id);
            await delete.ExecuteNonQueryAsync(ct);
        }

        return expired.Count;
    }

    /// <summary>A completed backup to restore from: the catalog entry it was taken of, its file and its recorded sha256.</summary>
    public async Task<BackupSource?> SourceAsync(Guid id, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            "SELECT catalog::text, file_name, sha256 FROM platform.backups WHERE id = $1 AND status = 'completed'");
        command.Parameters.AddWithValue(id);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new BackupSource(id, JsonSerializer.Deserialize<TenantInfo>(reader.GetString(0), Json)!,
                Path.Combine(options.Value.Directory, reader.GetString(1)), reader.GetString(2))
            : null;
    }

    /// <summary>
    /// Loads a backup into <paramref name="target"/>'s (new, empty) schema, in one transaction: the file is checked against
    /// its sha256 first, then pg_restore writes its SQL, in which every reference to the original's schema and role is
    /// rewritten to the target's (never inside the COPY data), and psql runs it with ON_ERROR_STOP. A reference the rewrite
    /// missed refuses the restore before anything runs, so a restore can never write into the original tenant.
    /// </summary>
    public async Task RestoreIntoAsync(BackupSource source, TenantInfo target, CancellationToken ct)
    {
        if (!File.Exists(source.Path))
        {
            throw new InvalidOperationException($"The backup file of {source.Id} is missing.");
        }

        await using (var file = File.OpenRead(source.Path))
        {
            if (Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct)) != source.Sha256)
            {
                throw new InvalidOperationException($"The backup file of {source.Id} does not match its sha256: it is corrupt or truncated.");
            }
        }

        var listing = await PostgresTools.RunAsync(tools.PgRestore, ["--no-owner", "--file=-", source.Path], null, ct);
        if (listing.ExitCode != 0)
        {
            throw new InvalidOperationException($"pg_restore could not read the backup {source.Id}: {listing.Stderr.Trim()}");
        }

        var script = Path.Combine(Path.GetTempPath(), $"monolith-restore-{Guid.NewGuid():N}.sql");
        try
        {
            await File.WriteAllTextAsync(script, RestoreScript.Rewrite(listing.Stdout, source.Tenant, target), ct);
            var owner = new NpgsqlConnectionStringBuilder((await servers.ForAsync(target, ct)).ConnectionString);
            var run = await PostgresTools.RunAsync(tools.Psql,
            [
                "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--single-transaction", $"--file={script}",
                $"--host={owner.Host}", $"--port={owner.Port}", $"--username={owner.Username}", $"--dbname={owner.Database}",
            ], new Dictionary<string, string> { ["PGPASSWORD"] = owner.Password ?? string.Empty, ["PGCONNECT_TIMEOUT"] = "10" }, ct);
            if (run.ExitCode != 0)
            {
                throw new InvalidOperationException($"Loading the backup {source.Id} failed: {run.Stderr.Trim()}");
            }
        }
        finally
        {
            File.Delete(script);
        }
    }

    private async Task<(long Size, string Sha256)> DumpAsync(TenantInfo tenant, string path, string? snapshot, CancellationToken ct)
    {
        var server = await servers.ForAsync(tenant, ct);
        await using (var connection = await server.DataSource.OpenConnectionAsync(ct))
        {
            await tools.EnsureCompatibleAsync(connection.PostgreSqlVersion.Major * 10000, ct);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var partial = path + ".partial";
        var owner = new NpgsqlConnectionStringBuilder(server.ConnectionString);
        var environment = new Dictionary<string, string> { ["PGPASSWORD"] = owner.Password ?? string.Empty, ["PGCONNECT_TIMEOUT"] = "10" };
        List<string> arguments =
        [
            "--format=custom", "--no-owner", $"--schema=\"{tenant.SchemaName}\"", $"--file={partial}",
            $"--host={owner.Host}", $"--port={owner.Port}", $"--username={owner.Username}", $"--dbname={owner.Database}",
        ];
        if (snapshot is not null)
        {
            arguments.Add($"--snapshot={snapshot}");
        }

        var run = await PostgresTools.RunAsync(tools.PgDump, arguments, environment, ct);
        if (run.ExitCode != 0)
        {
            File.Delete(partial);
            throw new InvalidOperationException($"pg_dump failed (exit {run.ExitCode}): {run.Stderr.Trim()}");
        }

        string sha256;
        await using (var file = File.OpenRead(partial))
        {
            sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct));
        }

        var size = new FileInfo(partial).Length;
        await File.WriteAllTextAsync(Path.ChangeExtension(path, ".json"),
            JsonSerializer.Serialize(new { tenant, sha256, sizeBytes = size, format = "pg_dump custom" }, Json), ct);
        File.Move(partial, path, overwrite: true);
        return (size, sha256);
    }

    private async Task FailAsync(Guid backupId, TenantInfo tenant, string error, CancellationToken ct)
    {
        await using var work = await trail.BeginAsync(ct);
        await using (var failed = new NpgsqlCommand("UPDATE platform.backups SET status = 'failed', error = $2 WHERE id = $1", work.Connection, work.Transaction))
        {
            failed.Parameters.AddWithValue(backupId);
            failed.Parameters.AddWithValue(error);
            await failed.ExecuteNonQueryAsync(ct);
        }

        await work.Transaction.CommitAsync(ct);
        await trail.FailedAsync(OperatorActions.TenantBackup, new OperatorSubject(tenant.Identifier, tenant.Id), $"backup {backupId}: {error}", ct);
    }

    private async Task<(TenantInfo Tenant, string FileName, string Status)?> FindRowAsync(Guid id, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand("SELECT catalog::text, file_name, status FROM platform.backups WHERE id = $1");
        command.Parameters.AddWithValue(id);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? (JsonSerializer.Deserialize<TenantInfo>(reader.GetString(0), Json)!, reader.GetString(1), reader.GetString(2))
            : null;
    }

    private const string Columns = "id, tenant, status, created_at, completed_at, size_bytes, sha256, schema_version";

    private static async Task<BackupResponse?> ReadSingleAsync(NpgsqlCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    private static BackupResponse Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetFieldValue<DateTimeOffset>(3),
        reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
        reader.IsDBNull(5) ? null : reader.GetInt64(5),
        reader.IsDBNull(6) ? null : reader.GetString(6),
        reader.IsDBNull(7) ? null : reader.GetString(7));

    [LoggerMessage(Level = LogLevel.Information, Message = "Backed up tenant {Identifier} as {BackupId} ({SizeBytes} bytes)")]
    private static partial void LogBackedUp(ILogger logger, string identifier, Guid backupId, long sizeBytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Backing up tenant {Identifier} as {BackupId} failed")]
    private static partial void LogBackupFailed(ILogger logger, string identifier, Guid backupId, Exception exception);
}
