using Monolith.Migrations;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Backups;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Operators;
using Monolith.Tenancy.Placement;
using Npgsql;

namespace Monolith.Tenancy.Provisioning;

internal sealed record RestoreTenantCommand(Guid BackupId, string? Identifier, string? Name);

/// <summary>
/// A new tenant from a backup (CONTRACT §4): a new id, schema and role; the backup's rows with their ids; its catalog
/// settings; brought to the newest scripts; the original's sessions ended; the restore recorded in its own audit trail and
/// in the operator trail. Like a create, it holds the identifier's lock and removes everything it made when any step fails.
/// </summary>
internal sealed partial class TenantProvisioner
{
    public const string RestoredFromSetting = "monolith.restored-from";

    public async Task<ProvisioningResult> RestoreAsync(RestoreTenantCommand command, IEnumerable<ITenantRestoreStep> steps, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (TenantIdentifier.Validate(command.Identifier) is { } reason)
        {
            errors.Add("identifier", reason);
        }

        if (command.Name is { } name && name.Trim().Length is < 1 or > 200)
        {
            errors.Add("name", "name must be 1 to 200 characters long.");
        }

        if (errors.Any)
        {
            return await RefusedAsync(OperatorActions.TenantRestore, command.Identifier, ProvisioningResult.Invalid(errors.ToDictionary()), ct);
        }

        var source = await backups.SourceAsync(command.BackupId, ct);
        if (source is null)
        {
            return await RefusedAsync(OperatorActions.TenantRestore, command.Identifier,
                new ProvisioningResult(ProvisioningStatus.NotFound, Detail: "No completed backup with that id."), ct);
        }

        var identifier = command.Identifier!;
        await using var lockConnection = await database.OpenConnectionAsync(ct);
        if (!await TenantLocks.AcquireWithinPatienceAsync(lockConnection, identifier, ct))
        {
            return await RefusedAsync(OperatorActions.TenantRestore, identifier,
                ProvisioningResult.Conflict($"Tenant '{identifier}' is being provisioned or deleted right now."), ct);
        }

        try
        {
            var result = await RestoreLockedAsync(source, identifier, command.Name?.Trim() ?? source.Tenant.Name, steps, ct);
            return result.Status == ProvisioningStatus.Done ? result : await RefusedAsync(OperatorActions.TenantRestore, identifier, result, ct);
        }
        catch (ProvisioningFailedException e)
        {
            await trail.FailedAsync(OperatorActions.TenantRestore, new OperatorSubject(identifier), e.Message, CancellationToken.None);
            throw;
        }
        finally
        {
            await TenantLocks.ReleaseAsync(lockConnection, identifier);
        }
    }

    private async Task<ProvisioningResult> RestoreLockedAsync(
        BackupSource source, string identifier, string name, IEnumerable<ITenantRestoreStep> steps, CancellationToken ct)
    {
        var existing = await catalog.FindAsync(identifier, ct);
        if (existing is { Status: TenantStatus.Provisioning or TenantStatus.Deleting })
        {
            await RemoveAsync(existing, ct);
        }
        else if (existing is not null)
        {
            return ProvisioningResult.Conflict($"The identifier '{identifier}' is taken.");
        }

        if (await ServerPlacement.ChooseAsync(database, ct) is not { } placed)
        {
            return ProvisioningResult.Conflict("No active database server has room for another tenant (platform servers: capacity).");
        }

        var id = Guid.CreateVersion7();
        var original = source.Tenant;
        var tenant = new TenantInfo(id, identifier, name, TenantIdentifier.SchemaNameOf(identifier), TenantIdentifier.RoleNameOf(id),
            TenantStatus.Provisioning, null, original.AuditRetentionDays, original.LogRetentionDays, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow,
            original.StatementTimeoutMs, original.MaxConcurrency, Server: placed);
        try
        {
            await catalog.InsertAsync(tenant, ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return ProvisioningResult.Conflict($"The identifier '{identifier}' is taken.");
        }

        try
        {
            var server = await servers.ForAsync(tenant, ct);
            await CreateSchemaAndRoleAsync(tenant, server, ct);
            await backups.RestoreIntoAsync(source, tenant, ct);
            await GrantSharedSchemaAsync(tenant, server, ct);
            var outcome = await Task.Run(() => DbUpRunner.MigrateTenant(server.ConnectionString, tenant.SchemaName, tenant.RoleName, scripts.Value), ct);
            if (!outcome.Succeeded)
            {
                throw new ProvisioningFailedException($"Tenant script {outcome.FailedScript} failed while restoring '{identifier}'.", outcome.Error);
            }

            using (tenantContext.Enter(tenant with { Status = TenantStatus.Active }))
            {
                await RecordRestoreInTrailAsync(source, ct);
            }

            await using var work = await trail.BeginAsync(ct);
            if (tenant.Server == TenantServers.Catalog)
            {
                // On the catalog's server the steps commit with the operator-trail record.
                await RunRestoreStepsAsync(tenant, steps, work.Transaction, ct);
            }
            else
            {
                // Elsewhere they commit first, on the tenant's server; a failure after that removes the whole tenant.
                await using var connection = await server.OpenConnectionAsync(ct);
                await using var transaction = await connection.BeginTransactionAsync(ct);
                await RunRestoreStepsAsync(tenant, steps, transaction, ct);
                await transaction.CommitAsync(ct);
            }

            await catalog.SetRestoredSettingsAsync(id, original, work.Transaction, ct);
            await catalog.SetSchemaVersionAsync(id, outcome.Version ?? original.SchemaVersion, ct, work.Transaction);
            var active = await catalog.TransitionAsync(id, [TenantStatus.Provisioning], TenantStatus.Active, ct, work.Transaction)
                ?? throw new InvalidOperationException("The tenant row vanished while restoring.");
            await work.SucceededAsync(OperatorActions.TenantRestore, new OperatorSubject(identifier, id),
                $"from backup {source.Id} of '{original.Identifier}' (schema version {original.SchemaVersion} -> {active.SchemaVersion})", ct);
            cache.Invalidate(identifier);
            return new ProvisioningResult(ProvisioningStatus.Done, active);
        }
        catch (Exception e)
        {
            LogProvisioningFailed(logger, identifier, e);
            await RemoveAsync(tenant, CancellationToken.None);
            throw e as ProvisioningFailedException ?? new ProvisioningFailedException($"Restoring '{identifier}' failed: {e.Message}", e);
        }
    }

    /// <summary>
    /// The one grant a tenant's scripts make outside its schema (tenant script 0010: USAGE on schema monolith, whose shared
    /// functions its triggers run). A dump of the schema does not hold it, and the restored journal says 0010 ran.
    /// </summary>
    private static async Task RunRestoreStepsAsync(TenantInfo tenant, IEnumerable<ITenantRestoreStep> steps, NpgsqlTransaction transaction, CancellationToken ct)
    {
        await using (var searchPath = new NpgsqlCommand(
                         $"SET LOCAL search_path TO {SqlIdentifier.Quote(tenant.SchemaName)}", transaction.Connection, transaction))
        {
            await searchPath.ExecuteNonQueryAsync(ct);
        }

        foreach (var step in steps)
        {
            await step.AfterRestoreAsync(tenant, transaction, ct);
        }
    }

    private static async Task GrantSharedSchemaAsync(TenantInfo tenant, PlatformDatabase server, CancellationToken ct)
    {
        await using var connection = await server.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await TenantLocks.LockRoleChangesAsync(connection, transaction, ct);
        await using (var grant = new NpgsqlCommand(
            $"DO $$ BEGIN IF to_regnamespace('monolith') IS NOT NULL THEN GRANT USAGE ON SCHEMA monolith TO {SqlIdentifier.Quote(tenant.RoleName)}; END IF; END $$",
            connection, transaction))
        {
            await grant.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
    }

    /// <summary>The restore is a change of the tenant's own: written through its role, so its audit trail records it.</summary>
    private async Task RecordRestoreInTrailAsync(BackupSource source, CancellationToken ct)
    {
        await using var session = await tenantDatabase.BeginAsync(ct);
        await using var command = session.Command(
            """
            INSERT INTO tenant_settings (key, value) VALUES ($1, jsonb_build_object('backupId', $2::text, 'tenant', $3::text, 'at', now()))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()
            """);
        command.Parameters.AddWithValue(RestoredFromSetting);
        command.Parameters.AddWithValue(source.Id.ToString());
        command.Parameters.AddWithValue(source.Tenant.Identifier);
        await command.ExecuteNonQueryAsync(ct);
        if (events is not null)
        {
            await events.PublishAsync(new TenantSettingChanged(tenantContext.Required, RestoredFromSetting), session.Transaction, ct);
        }

        await session.CommitAsync(ct);
    }
}
