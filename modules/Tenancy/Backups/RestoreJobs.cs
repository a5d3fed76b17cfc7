using Hangfire;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Provisioning;
using Npgsql;

namespace Monolith.Tenancy.Backups;

internal sealed record RestoreRequest(string? Identifier, string? Name);

internal sealed record RestoreJob(Guid Id, Guid BackupId, string Identifier, string Status, string? Error, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt);

internal enum RestoreStart
{
    Accepted,
    Invalid,
    UnknownBackup,
    IdentifierTaken,
}

/// <summary>
/// <c>POST /platform/backups/{id}/restore</c>: checks what can be checked at once (identifier rule, identifier free, backup
/// completed), records the restore as running and hands it to Hangfire; the job runs
/// <see cref="TenantProvisioner.RestoreAsync"/> and records its outcome. Hangfire requeues a job whose host died, and a
/// restore that died midway left a <c>provisioning</c> row that the retried restore clears first.
/// </summary>
internal sealed class RestoreJobs(
    PlatformDatabase database, TenantCatalog catalog, TenantBackups backups, TenantProvisioner provisioner, IEnumerable<ITenantRestoreStep> steps,
    IBackgroundJobClient jobs)
{
    public async Task<(RestoreStart Start, Guid? JobId, string? Detail)> StartAsync(Guid backupId, RestoreRequest request, CancellationToken ct)
    {
        if (TenantIdentifier.Validate(request.Identifier) is { } reason)
        {
            return (RestoreStart.Invalid, null, reason);
        }

        if (await backups.SourceAsync(backupId, ct) is null)
        {
            return (RestoreStart.UnknownBackup, null, "No completed backup with that id.");
        }

        if (await catalog.FindAsync(request.Identifier!, ct) is not null)
        {
            return (RestoreStart.IdentifierTaken, null, $"The identifier '{request.Identifier}' is taken.");
        }

        var id = Guid.CreateVersion7();
        await using (var insert = database.DataSource.CreateCommand(
                         "INSERT INTO platform.restores (id, backup_id, identifier, name, status) VALUES ($1, $2, $3, $4, 'running')"))
        {
            insert.Parameters.AddWithValue(id);
            insert.Parameters.AddWithValue(backupId);
            insert.Parameters.AddWithValue(request.Identifier!);
            insert.Parameters.Add(new NpgsqlParameter { Value = (object?)request.Name ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            await insert.ExecuteNonQueryAsync(ct);
        }

        jobs.Enqueue<RestoreJobs>(j => j.RunAsync(id, CancellationToken.None));
        return (RestoreStart.Accepted, id, null);
    }

    [AutomaticRetry(Attempts = 0)] // a failed restore removed what it made; the row says why
    public async Task RunAsync(Guid restoreId, CancellationToken ct)
    {
        var job = await FindAsync(restoreId, ct);
        if (job is null || job.Status != "running")
        {
            return;
        }

        string? name;
        await using (var read = database.DataSource.CreateCommand("SELECT name FROM platform.restores WHERE id = $1"))
        {
            read.Parameters.AddWithValue(restoreId);
            name = await read.ExecuteScalarAsync(ct) as string;
        }

        string? error = null;
        try
        {
            var result = await provisioner.RestoreAsync(new RestoreTenantCommand(job.BackupId, job.Identifier, name), steps, ct);
            if (result.Status != ProvisioningStatus.Done)
            {
                error = result.Detail ?? string.Join("; ", result.Errors?.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}") ?? []);
            }
        }
        catch (ProvisioningFailedException e)
        {
            error = e.Message;
        }

        await using var finish = database.DataSource.CreateCommand(
            "UPDATE platform.restores SET status = $2, error = $3, finished_at = now() WHERE id = $1");
        finish.Parameters.AddWithValue(restoreId);
        finish.Parameters.AddWithValue(error is null ? "completed" : "failed");
        finish.Parameters.Add(new NpgsqlParameter { Value = (object?)error ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await finish.ExecuteNonQueryAsync(ct);
    }

    public async Task<RestoreJob?> FindAsync(Guid id, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            "SELECT id, backup_id, identifier, status, error, created_at, finished_at FROM platform.restores WHERE id = $1");
        command.Parameters.AddWithValue(id);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new RestoreJob(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.GetFieldValue<DateTimeOffset>(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6))
            : null;
    }
}
