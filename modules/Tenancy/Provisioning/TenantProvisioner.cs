using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.Migrations;
using Monolith.SharedKernel.Events;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Backups;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Operators;
using Monolith.Tenancy.Placement;
using Npgsql;

namespace Monolith.Tenancy.Provisioning;

internal sealed record CreateTenantCommand(string? Identifier, string? Name, string? OwnerEmail, string? OwnerPassword);

internal enum ProvisioningStatus
{
    Done,
    Invalid,
    NotFound,
    Conflict,
    Failed,
}

internal sealed record ProvisioningResult(
    ProvisioningStatus Status,
    TenantInfo? Tenant = null,
    string? GeneratedOwnerPassword = null,
    IDictionary<string, string[]>? Errors = null,
    string? Detail = null)
{
    public static ProvisioningResult Invalid(IDictionary<string, string[]> errors) => new(ProvisioningStatus.Invalid, Errors: errors);

    public static ProvisioningResult Conflict(string detail) => new(ProvisioningStatus.Conflict, Detail: detail);

    /// <summary>The operation could not be carried out for a reason outside the request (a failed final backup).</summary>
    public static ProvisioningResult Failed(string detail) => new(ProvisioningStatus.Failed, Detail: detail);

    public static ProvisioningResult NotFound() => new(ProvisioningStatus.NotFound, Detail: "No tenant with that identifier exists.");
}

/// <summary>A tenant script failed while provisioning; everything the attempt made has been removed.</summary>
internal sealed class ProvisioningFailedException(string message, Exception? inner) : Exception(message, inner);

/// <summary>
/// Creates, suspends, resumes and deletes tenants: the one service behind the platform API and the CLI.
/// Each operation on an identifier holds that identifier's advisory lock; a create that fails at any step
/// removes the schema, the role and the catalog row it made, so a retry starts from nothing.
/// </summary>
internal sealed partial class TenantProvisioner
{
    private readonly PlatformDatabase database;
    private readonly TenantServers servers;
    private readonly TenantCatalog catalog;
    private readonly TenantCatalogCache cache;
    private readonly TenantContext tenantContext;
    private readonly TenantScripts scripts;
    private readonly OperatorTrail trail;
    private readonly TenantBackups backups;
    private readonly TenantDatabase tenantDatabase;
    private readonly IOptions<TenancyOptions> options;
    private readonly TimeProvider clock;
    private readonly ITenantOwnerSetup? ownerSetup;
    private readonly ILogger<TenantProvisioner> logger;
    private readonly InProcessEvents? events;

    internal TenantProvisioner(
        PlatformDatabase database,
        TenantServers servers,
        TenantCatalog catalog,
        TenantCatalogCache cache,
        TenantContext tenantContext,
        TenantScripts scripts,
        OperatorTrail trail,
        TenantBackups backups,
        TenantDatabase tenantDatabase,
        IOptions<TenancyOptions> options,
        TimeProvider clock,
        ILogger<TenantProvisioner> logger,
        ITenantOwnerSetup? ownerSetup = null,
        InProcessEvents? events = null)
    {
        this.database = database;
        this.servers = servers;
        this.catalog = catalog;
        this.cache = cache;
        this.tenantContext = tenantContext;
        this.scripts = scripts;
        this.trail = trail;
        this.backups = backups;
        this.tenantDatabase = tenantDatabase;
        this.options = options;
        this.clock = clock;
        this.ownerSetup = ownerSetup;
        this.logger = logger;
        this.events = events;
        template = new TenantTemplate(database, scripts, options, backups.Tools, logger);
        Spares = new SpareSchemas(database, template, scripts, options, logger);
    }

    /// <summary>Schemas made ahead from the template; topped up by <see cref="SpareSchemasTopUp"/> on each host.</summary>
    public SpareSchemas Spares { get; }

    /// <summary>Made here, from this provisioner's scripts: a template is only ever a copy of the scripts in force.</summary>
    private readonly TenantTemplate template;

    public async Task<ProvisioningResult> CreateAsync(CreateTenantCommand command, CancellationToken ct)
    {
        var errors = Validate(command);
        if (errors.Any)
        {
            return await RefusedAsync(OperatorActions.TenantCreate, command.Identifier, ProvisioningResult.Invalid(errors.ToDictionary()), ct);
        }

        var identifier = command.Identifier!;
        // The owner's password hash (a slow KDF by design) is made before the tenant's lock is taken, not while holding it.
        var owner = ownerSetup is null ? null : await ownerSetup.PrepareAsync(command.OwnerEmail!.Trim(), command.OwnerPassword, ct);
        await using var lockConnection = await database.OpenConnectionAsync(ct);
        if (!await TenantLocks.AcquireWithinPatienceAsync(lockConnection, identifier, ct))
        {
            return await RefusedAsync(OperatorActions.TenantCreate, identifier,
                ProvisioningResult.Conflict($"Tenant '{identifier}' is being provisioned or deleted right now."), ct);
        }

        try
        {
            var result = await CreateLockedAsync(command, identifier, owner, ct);
            return result.Status == ProvisioningStatus.Done ? result : await RefusedAsync(OperatorActions.TenantCreate, identifier, result, ct);
        }
        catch (ProvisioningFailedException e)
        {
            await trail.FailedAsync(OperatorActions.TenantCreate, new OperatorSubject(identifier), e.Message, CancellationToken.None);
            throw;
        }
        finally
        {
            await TenantLocks.ReleaseAsync(lockConnection, identifier);
        }
    }

    /// <summary>Records an operation that was refused (invalid, unknown tenant, wrong state) as failed, with the reason.</summary>
    private async Task<ProvisioningResult> RefusedAsync(string action, string? identifier, ProvisioningResult result, CancellationToken ct)
    {
        var detail = result.Status switch
        {
            ProvisioningStatus.Invalid => "invalid: " + string.Join(", ", result.Errors!.Keys.Order(StringComparer.Ordinal)),
            _ => result.Detail,
        };
        var subject = new OperatorSubject(TenantIdentifier.IsValid(identifier) ? identifier : null);
        await trail.FailedAsync(action, subject, detail ?? result.Status.ToString(), ct);
        return result;
    }

    private async Task<ProvisioningResult> CreateLockedAsync(CreateTenantCommand command, string identifier, TenantOwner? owner, CancellationToken ct)
    {
        var existing = await catalog.FindAsync(identifier, ct);
        if (existing is { Status: TenantStatus.Provisioning or TenantStatus.Deleting })
        {
            // We hold the lock, so the provisioning or delete that left this row is dead: finish clearing what it left.
            await RemoveAsync(existing, ct);
        }
        else if (existing is not null)
        {
            return ProvisioningResult.Conflict($"The identifier '{identifier}' is taken.");
        }

        if (await ServerPlacement.ChooseAsync(database, ct) is not { } server)
        {
            return ProvisioningResult.Conflict("No active database server has room for another tenant (platform servers: capacity).");
        }

        var id = Guid.CreateVersion7();
        var tenant = new TenantInfo(id, identifier, command.Name!.Trim(), TenantIdentifier.SchemaNameOf(identifier),
            TenantIdentifier.RoleNameOf(id), TenantStatus.Provisioning, null, null, null, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow,
            Server: server);
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
            var (version, from) = await SchemaForAsync(tenant, ct);
            if (owner is not null)
            {
                using (tenantContext.Enter(tenant with { Status = TenantStatus.Active }))
                {
                    await ownerSetup!.CreateOwnerAsync(owner, ct);
                }
            }

            await using var work = await trail.BeginAsync(ct);
            await catalog.SetSchemaVersionAsync(id, version, ct, work.Transaction);
            var active = await catalog.TransitionAsync(id, [TenantStatus.Provisioning], TenantStatus.Active, ct, work.Transaction)
                ?? throw new InvalidOperationException("The tenant row vanished while provisioning.");
            await work.SucceededAsync(OperatorActions.TenantCreate, new OperatorSubject(identifier, id), $"schema version {version}, {from}", ct);
            cache.Invalidate(identifier);
            LogProvisioned(logger, identifier, version);
            return new ProvisioningResult(ProvisioningStatus.Done, active, owner?.GeneratedPassword);
        }
        catch (Exception e)
        {
            LogProvisioningFailed(logger, identifier, e);
            await RemoveAsync(tenant, CancellationToken.None);
            throw e as ProvisioningFailedException ?? new ProvisioningFailedException($"Provisioning '{identifier}' failed.", e);
        }
    }

    /// <summary>
    /// The new tenant's schema and role with the tenant scripts' objects, on its server: a spare renamed (spares are made
    /// on the catalog's server only), else a new schema filled from the template, else by replaying the scripts
    /// (docs/adr/0062).
    /// </summary>
    private async Task<(string? Version, string From)> SchemaForAsync(TenantInfo tenant, CancellationToken ct)
    {
        if (tenant.Server == TenantServers.Catalog && await Spares.TryTakeAsync(tenant, ct))
        {
            return (scripts.Value.LatestVersion, "taken from the spare schemas");
        }

        var server = await servers.ForAsync(tenant, ct);
        await CreateSchemaAndRoleAsync(tenant, server, ct);
        return await FillSchemaAsync(tenant, server, ct);
    }

    private async Task<(string? Version, string From)> FillSchemaAsync(TenantInfo tenant, PlatformDatabase server, CancellationToken ct)
    {
        if (await template.TryFillAsync(tenant, server, ct))
        {
            return (scripts.Value.LatestVersion, "copied from the template");
        }

        // The scripts grant on objects every tenant shares (USAGE on schema monolith) early in their one long transaction:
        // two GRANTs on one object at once fail ("tuple concurrently updated"), so a scripted fill holds the role-changes
        // lock throughout. The template is the fast path and holds it only for its last statements.
        await using var turn = await server.OpenConnectionAsync(ct);
        await TenantLocks.AcquireRoleChangesAsync(turn, ct);

        MigrationOutcome outcome;
        try
        {
            outcome = await Task.Run(
                () => DbUpRunner.MigrateTenant(server.ConnectionString, tenant.SchemaName, tenant.RoleName, scripts.Value, singleTransaction: true), ct);
        }
        finally
        {
            await TenantLocks.ReleaseRoleChangesAsync(turn);
        }

        return outcome.Succeeded
            ? (outcome.Version, "by the tenant scripts")
            : throw new ProvisioningFailedException($"Tenant script {outcome.FailedScript} failed while provisioning '{tenant.Identifier}'.", outcome.Error);
    }

    public Task<ProvisioningResult> SuspendAsync(string identifier, CancellationToken ct) =>
        TransitionAsync(OperatorActions.TenantSuspend, identifier, [TenantStatus.Active, TenantStatus.Suspended], TenantStatus.Suspended,
            "only active and suspended tenants can be suspended or resumed", ct);

    public Task<ProvisioningResult> ResumeAsync(string identifier, CancellationToken ct) =>
        TransitionAsync(OperatorActions.TenantResume, identifier, [TenantStatus.Active, TenantStatus.Suspended], TenantStatus.Active,
            "only active and suspended tenants can be suspended or resumed", ct);

    /// <summary>Brings a deleted tenant back, with all its data, while its grace lasts.</summary>
    public Task<ProvisioningResult> UndeleteAsync(string identifier, CancellationToken ct) =>
        TransitionAsync(OperatorActions.TenantUndelete, identifier, [TenantStatus.Deleted], TenantStatus.Active,
            "only a deleted tenant can be undeleted", ct);

    public async Task<ProvisioningResult> UpdateAsync(string identifier, TenantChanges changes, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (changes.Name is { } name && name.Trim().Length is < 1 or > 200)
        {
            errors.Add("name", "name must be 1 to 200 characters long.");
        }

        Range(errors, "auditRetentionDays", changes.AuditRetentionDays, 1, 36_500);
        Range(errors, "logRetentionDays", changes.LogRetentionDays, 1, 36_500);
        Range(errors, "statementTimeoutMs", changes.StatementTimeoutMs, 1, TenancyOptions.MaxStatementTimeoutMs);
        Range(errors, "maxConcurrency", changes.MaxConcurrency, 1, 10_000);
        if (errors.Any)
        {
            return await RefusedAsync(OperatorActions.TenantUpdate, identifier, ProvisioningResult.Invalid(errors.ToDictionary()), ct);
        }

        await using var work = await trail.BeginAsync(ct);
        var updated = await catalog.UpdateAsync(identifier, changes with { Name = changes.Name?.Trim() }, ct, work.Transaction);
        if (updated is null)
        {
            return await RefusedAsync(OperatorActions.TenantUpdate, identifier, await NotFoundOrConflictAsync(identifier, ct), ct);
        }

        await work.SucceededAsync(OperatorActions.TenantUpdate, new OperatorSubject(identifier, updated.Id), Describe(changes), ct);
        cache.Invalidate(identifier);
        return new ProvisioningResult(ProvisioningStatus.Done, updated);
    }

    /// <summary>What a change set: setting names and values (none of them is a secret).</summary>
    private static string Describe(TenantChanges changes)
    {
        var parts = new List<string>();
        if (changes.Name is not null)
        {
            parts.Add("name");
        }

        foreach (var (name, change) in new[]
                 {
                     ("auditRetentionDays", changes.AuditRetentionDays), ("logRetentionDays", changes.LogRetentionDays),
                     ("statementTimeoutMs", changes.StatementTimeoutMs), ("maxConcurrency", changes.MaxConcurrency),
                 })
        {
            if (change.Given)
            {
                parts.Add(change.Value is { } value ? $"{name}={value}" : $"{name}=default");
            }
        }

        return parts.Count == 0 ? "nothing changed" : string.Join(", ", parts);
    }

    private static void Range(ValidationErrors errors, string field, SettingChange change, int min, int max)
    {
        if (change.Value is { } value && (value < min || value > max))
        {
            errors.Add(field, $"{field} must be from {min} to {max}, or null for the configured default.");
        }
    }

    /// <summary>
    /// Deletes a live tenant softly: it answers 404 like an unknown one, while its data, schema, role and identifier are
    /// kept until <c>purgeAfter</c> (<see cref="TenancyOptions.DeletionGraceDays"/> from now); undelete brings it back.
    /// </summary>
    public async Task<ProvisioningResult> DeleteAsync(string identifier, CancellationToken ct)
    {
        var tenant = await catalog.FindAsync(identifier, ct);
        if (tenant is null)
        {
            return await RefusedAsync(OperatorActions.TenantDelete, identifier, ProvisioningResult.NotFound(), ct);
        }

        var now = clock.GetUtcNow();
        var purgeAfter = now.AddDays(Math.Max(0, options.Value.DeletionGraceDays));
        await using var work = await trail.BeginAsync(ct);
        var deleted = await catalog.MarkDeletedAsync(tenant.Id, now, purgeAfter, work.Transaction, ct);
        if (deleted is null)
        {
            return await RefusedAsync(OperatorActions.TenantDelete, identifier, ProvisioningResult.Conflict(
                $"Tenant '{identifier}' is {(await catalog.FindAsync(identifier, ct))?.Status ?? "gone"}; only active and suspended tenants can be deleted (a deleted one is purged with ?purge=true)."), ct);
        }

        await work.SucceededAsync(OperatorActions.TenantDelete, new OperatorSubject(identifier, tenant.Id), $"purge after {purgeAfter:O}", ct);
        cache.Invalidate(identifier);
        LogDeleted(logger, identifier, purgeAfter);
        return new ProvisioningResult(ProvisioningStatus.Done, deleted);
    }

    /// <summary>
    /// Removes a tenant at once, live or deleted: the schema (table by table, so no one transaction needs a lock per
    /// object), the role and the catalog row, whose removal commits with the operator-trail record. The identifier is then
    /// free. With <paramref name="archive"/> a final backup is taken first (while no request reaches the tenant); if it
    /// fails, the tenant goes back to its status and nothing is purged. <paramref name="onlyIfDueBy"/> (the purge job)
    /// purges only a tenant that is still deleted and past its grace.
    /// </summary>
    public async Task<ProvisioningResult> PurgeAsync(string identifier, bool archive, CancellationToken ct, DateTimeOffset? onlyIfDueBy = null)
    {
        await using var lockConnection = await database.OpenConnectionAsync(ct);
        if (!await TenantLocks.AcquireWithinPatienceAsync(lockConnection, identifier, ct))
        {
            return await RefusedAsync(OperatorActions.TenantPurge, identifier,
                ProvisioningResult.Conflict($"Tenant '{identifier}' is being provisioned or deleted right now."), ct);
        }

        try
        {
            var tenant = await catalog.FindAsync(identifier, ct);
            if (tenant is null)
            {
                return await RefusedAsync(OperatorActions.TenantPurge, identifier, ProvisioningResult.NotFound(), ct);
            }

            if (onlyIfDueBy is { } due && tenant.Status != TenantStatus.Deleting && (tenant.Status != TenantStatus.Deleted || tenant.PurgeAfter > due))
            {
                // Undeleted (or given more time) since the job listed it: nothing to do, and nothing failed.
                return new ProvisioningResult(ProvisioningStatus.Done, tenant);
            }

            await catalog.TransitionAsync(tenant.Id, [.. TenantStatus.All], TenantStatus.Deleting, ct);
            cache.Invalidate(identifier);
            if (archive && tenant.Status != TenantStatus.Provisioning)
            {
                var final = await FinalBackupAsync(identifier, ct);
                if (final is null)
                {
                    await catalog.TransitionAsync(tenant.Id, [TenantStatus.Deleting], tenant.Status, ct);
                    cache.Invalidate(identifier);
                    return await RefusedAsync(OperatorActions.TenantPurge, identifier, ProvisioningResult.Failed(
                        $"The final backup of '{identifier}' failed, so nothing was purged; the tenant is {tenant.Status} as before."), ct);
                }
            }

            await RemoveAsync(tenant, ct, recordPurge: true);
            LogPurged(logger, identifier);
            return new ProvisioningResult(ProvisioningStatus.Done, tenant with { Status = TenantStatus.Deleting });
        }
        finally
        {
            await TenantLocks.ReleaseAsync(lockConnection, identifier);
        }
    }

    private async Task<BackupResponse?> FinalBackupAsync(string identifier, CancellationToken ct)
    {
        try
        {
            return await backups.BackUpNowAsync(identifier, TenantBackups.FinalReason, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // TenantBackups logged it and marked the backup failed; the caller keeps the tenant.
            return null;
        }
    }

    private async Task<ProvisioningResult> TransitionAsync(
        string action, string identifier, string[] from, string to, string rule, CancellationToken ct)
    {
        var tenant = await catalog.FindAsync(identifier, ct);
        if (tenant is null)
        {
            return await RefusedAsync(action, identifier, ProvisioningResult.NotFound(), ct);
        }

        await using var work = await trail.BeginAsync(ct);
        var moved = await catalog.TransitionAsync(tenant.Id, from, to, ct, work.Transaction);
        if (moved is null)
        {
            return await RefusedAsync(action, identifier, ProvisioningResult.Conflict($"Tenant '{identifier}' is {tenant.Status}; {rule}."), ct);
        }

        await work.SucceededAsync(action, new OperatorSubject(identifier, tenant.Id), $"{tenant.Status} -> {to}", ct);
        cache.Invalidate(identifier);
        return new ProvisioningResult(ProvisioningStatus.Done, moved);
    }

    private async Task<ProvisioningResult> NotFoundOrConflictAsync(string identifier, CancellationToken ct)
    {
        var tenant = await catalog.FindAsync(identifier, ct);
        return tenant is null
            ? ProvisioningResult.NotFound()
            : ProvisioningResult.Conflict($"Tenant '{identifier}' is {tenant.Status} and cannot be changed now.");
    }

    private ValidationErrors Validate(CreateTenantCommand command)
    {
        var errors = new ValidationErrors();
        if (TenantIdentifier.Validate(command.Identifier) is { } reason)
        {
            errors.Add("identifier", reason);
        }

        if (string.IsNullOrWhiteSpace(command.Name) || command.Name.Trim().Length > 200)
        {
            errors.Add("name", "name is required and must be at most 200 characters long.");
        }

        if (string.IsNullOrWhiteSpace(command.OwnerEmail))
        {
            errors.Add("ownerEmail", "ownerEmail is required.");
        }

        if (ownerSetup is not null)
        {
            // The owner's own rules (the Access module's) name the same fields; a field already refused keeps its message.
            errors.AddAll(ownerSetup.Validate(command.OwnerEmail?.Trim(), command.OwnerPassword).Where(p => !errors.Has(p.Key)));
        }
        else if (command.OwnerEmail is { } email && !errors.Has("ownerEmail") && !EmailAddresses.IsValid(email.Trim()))
        {
            errors.Add("ownerEmail", EmailAddresses.Message("ownerEmail"));
        }

        return errors;
    }

    private static async Task CreateSchemaAndRoleAsync(TenantInfo tenant, PlatformDatabase server, CancellationToken ct)
    {
        var schema = SqlIdentifier.Quote(tenant.SchemaName);
        var role = SqlIdentifier.Quote(tenant.RoleName);
        var requestRole = SqlIdentifier.QuoteConfigured(server.RequestRole);
        await using var connection = await server.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        // The request role becomes the tenant's role for each unit of work; being NOINHERIT it holds none of its rights.
        await using (var command = new NpgsqlCommand(SqlIdentifier.SchemaAndRoleDdl(schema, role) + $"GRANT {role} TO {requestRole};", connection, transaction))
        {
            await command.ExecuteNonQueryAsync(ct);
        }

        if (server.HasSeparateOwner)
        {
            await RequestLogins.GrantAsync(connection, transaction, tenant.Id, tenant.RoleName, ct);
        }

        await TenantMirror.WriteAsync(tenant.Server, server, tenant, transaction, ct);
        await transaction.CommitAsync(ct);
    }

    /// <summary>Idempotent: removes whatever exists of a tenant's tables, schema, role and catalog row.</summary>
    private async Task RemoveAsync(TenantInfo tenant, CancellationToken ct, bool recordPurge = false)
    {
        await RemoveCopyAsync(tenant, tenant.Server, ct);
        if (recordPurge)
        {
            await using var work = await trail.BeginAsync(ct);
            await catalog.DeleteRowAsync(tenant.Id, ct, work.Transaction);
            await work.SucceededAsync(OperatorActions.TenantPurge, new OperatorSubject(tenant.Identifier, tenant.Id), $"was {tenant.Status}", ct);
        }
        else
        {
            await catalog.DeleteRowAsync(tenant.Id, ct);
        }

        cache.Invalidate(tenant.Identifier);
    }

    /// <summary>
    /// Idempotent: removes whatever exists of a tenant's tables, schema and role on <paramref name="serverName"/>, and its
    /// catalog row's copy there (never the catalog's own row).
    /// </summary>
    private async Task RemoveCopyAsync(TenantInfo tenant, string serverName, CancellationToken ct)
    {
        var schema = SqlIdentifier.Quote(tenant.SchemaName);
        var role = SqlIdentifier.Quote(tenant.RoleName);
        var server = await servers.ForAsync(serverName, ct);
        await using var connection = await server.OpenConnectionAsync(ct);

        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT tablename FROM pg_tables WHERE schemaname = $1", connection))
        {
            list.Parameters.AddWithValue(tenant.SchemaName);
            await using var reader = await list.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                tables.Add(reader.GetString(0));
            }
        }

        foreach (var table in tables)
        {
            await using var drop = new NpgsqlCommand($"DROP TABLE IF EXISTS {schema}.\"{table.Replace("\"", "\"\"", StringComparison.Ordinal)}\" CASCADE", connection);
            await drop.ExecuteNonQueryAsync(ct);
        }

        // The server's copies of its state versions (docs/adr/0072): no reader would see them once the schema is gone, but
        // nothing else removes them.
        await using (var versions = new NpgsqlCommand(
                         "DELETE FROM platform.state_versions WHERE schema_oid = (SELECT oid FROM pg_namespace WHERE nspname = $1)", connection))
        {
            versions.Parameters.AddWithValue(tenant.SchemaName);
            await versions.ExecuteNonQueryAsync(ct);
        }

        await using (var dropSchema = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", connection))
        {
            await dropSchema.ExecuteNonQueryAsync(ct);
        }

        await using (var exists = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", connection))
        {
            exists.Parameters.AddWithValue(tenant.RoleName);
            if ((bool)(await exists.ExecuteScalarAsync(ct))!)
            {
                await using var transaction = await connection.BeginTransactionAsync(ct);
                await TenantLocks.LockRoleChangesAsync(connection, transaction, ct);
                await using var dropRole = new NpgsqlCommand($"DROP OWNED BY {role}; DROP ROLE IF EXISTS {role}", connection, transaction);
                await dropRole.ExecuteNonQueryAsync(ct);
                await transaction.CommitAsync(ct);
            }
        }

        await TenantMirror.RemoveAsync(serverName, server, tenant, ct);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Provisioned tenant {Identifier} at schema version {Version}")]
    private static partial void LogProvisioned(ILogger logger, string identifier, string? version);

    [LoggerMessage(Level = LogLevel.Error, Message = "Provisioning tenant {Identifier} failed; removing what it made")]
    private static partial void LogProvisioningFailed(ILogger logger, string identifier, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted tenant {Identifier}; it is purged after {PurgeAfter}")]
    private static partial void LogDeleted(ILogger logger, string identifier, DateTimeOffset purgeAfter);

    [LoggerMessage(Level = LogLevel.Information, Message = "Purged tenant {Identifier}: its schema, role and data are gone")]
    private static partial void LogPurged(ILogger logger, string identifier);
}

/// <summary>The tenant scripts in force; a singleton so tests can add a broken one.</summary>
public sealed record TenantScripts(MigrationScripts Value);
