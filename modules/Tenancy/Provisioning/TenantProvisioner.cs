using Microsoft.Extensions.Logging;
using Monolith.Migrations;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Catalog;
using Npgsql;

namespace Monolith.Tenancy.Provisioning;

internal sealed record CreateTenantCommand(string? Identifier, string? Name, string? OwnerEmail, string? OwnerPassword);

internal enum ProvisioningStatus
{
    Done,
    Invalid,
    NotFound,
    Conflict,
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
    private readonly TenantCatalog catalog;
    private readonly TenantCatalogCache cache;
    private readonly TenantContext tenantContext;
    private readonly TenantScripts scripts;
    private readonly ITenantOwnerSetup? ownerSetup;
    private readonly ILogger<TenantProvisioner> logger;

    internal TenantProvisioner(
        PlatformDatabase database,
        TenantCatalog catalog,
        TenantCatalogCache cache,
        TenantContext tenantContext,
        TenantScripts scripts,
        ILogger<TenantProvisioner> logger,
        ITenantOwnerSetup? ownerSetup = null)
    {
        this.database = database;
        this.catalog = catalog;
        this.cache = cache;
        this.tenantContext = tenantContext;
        this.scripts = scripts;
        this.ownerSetup = ownerSetup;
        this.logger = logger;
    }

    public async Task<ProvisioningResult> CreateAsync(CreateTenantCommand command, CancellationToken ct)
    {
        var errors = Validate(command);
        if (errors.Any)
        {
            return ProvisioningResult.Invalid(errors.ToDictionary());
        }

        var identifier = command.Identifier!;
        await using var lockConnection = await database.OpenConnectionAsync(ct);
        if (!await TenantLocks.TryAcquireAsync(lockConnection, identifier, ct))
        {
            return ProvisioningResult.Conflict($"Tenant '{identifier}' is being provisioned or deleted right now.");
        }

        try
        {
            return await CreateLockedAsync(command, identifier, ct);
        }
        finally
        {
            await TenantLocks.ReleaseAsync(lockConnection, identifier);
        }
    }

    private async Task<ProvisioningResult> CreateLockedAsync(CreateTenantCommand command, string identifier, CancellationToken ct)
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

        var id = Guid.CreateVersion7();
        var tenant = new TenantInfo(id, identifier, command.Name!.Trim(), TenantIdentifier.SchemaNameOf(identifier),
            TenantIdentifier.RoleNameOf(id), TenantStatus.Provisioning, null, null, null, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
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
            await CreateSchemaAndRoleAsync(tenant, ct);
            var outcome = await Task.Run(
                () => DbUpRunner.MigrateTenant(database.ConnectionString, tenant.SchemaName, tenant.RoleName, scripts.Value, singleTransaction: true), ct);
            if (!outcome.Succeeded)
            {
                throw new ProvisioningFailedException(
                    $"Tenant script {outcome.FailedScript} failed while provisioning '{identifier}'.", outcome.Error);
            }

            string? generatedPassword = null;
            if (ownerSetup is not null)
            {
                using (tenantContext.Enter(tenant with { Status = TenantStatus.Active }))
                {
                    generatedPassword = await ownerSetup.CreateOwnerAsync(command.OwnerEmail!.Trim(), command.OwnerPassword, ct);
                }
            }

            await catalog.SetSchemaVersionAsync(id, outcome.Version, ct);
            var active = await catalog.TransitionAsync(id, [TenantStatus.Provisioning], TenantStatus.Active, ct)
                ?? throw new InvalidOperationException("The tenant row vanished while provisioning.");
            cache.Invalidate(identifier);
            LogProvisioned(logger, identifier, outcome.Version);
            return new ProvisioningResult(ProvisioningStatus.Done, active, generatedPassword);
        }
        catch (Exception e)
        {
            LogProvisioningFailed(logger, identifier, e);
            await RemoveAsync(tenant, CancellationToken.None);
            throw e as ProvisioningFailedException ?? new ProvisioningFailedException($"Provisioning '{identifier}' failed.", e);
        }
    }

    public Task<ProvisioningResult> SuspendAsync(string identifier, CancellationToken ct) =>
        TransitionAsync(identifier, TenantStatus.Suspended, ct);

    public Task<ProvisioningResult> ResumeAsync(string identifier, CancellationToken ct) =>
        TransitionAsync(identifier, TenantStatus.Active, ct);

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
            return ProvisioningResult.Invalid(errors.ToDictionary());
        }

        var updated = await catalog.UpdateAsync(identifier, changes with { Name = changes.Name?.Trim() }, ct);
        cache.Invalidate(identifier);
        return updated is null ? await NotFoundOrConflictAsync(identifier, ct) : new ProvisioningResult(ProvisioningStatus.Done, updated);
    }

    private static void Range(ValidationErrors errors, string field, SettingChange change, int min, int max)
    {
        if (change.Value is { } value && (value < min || value > max))
        {
            errors.Add(field, $"{field} must be from {min} to {max}, or null for the configured default.");
        }
    }

    /// <summary>Drops the schema (table by table, so no one transaction needs a lock per object), the role and the row.</summary>
    public async Task<ProvisioningResult> DeleteAsync(string identifier, CancellationToken ct)
    {
        await using var lockConnection = await database.OpenConnectionAsync(ct);
        if (!await TenantLocks.TryAcquireAsync(lockConnection, identifier, ct))
        {
            return ProvisioningResult.Conflict($"Tenant '{identifier}' is being provisioned or deleted right now.");
        }

        try
        {
            return await DeleteLockedAsync(identifier, ct);
        }
        finally
        {
            await TenantLocks.ReleaseAsync(lockConnection, identifier);
        }
    }

    private async Task<ProvisioningResult> DeleteLockedAsync(string identifier, CancellationToken ct)
    {
        var tenant = await catalog.FindAsync(identifier, ct);
        if (tenant is null)
        {
            return ProvisioningResult.NotFound();
        }

        await catalog.TransitionAsync(tenant.Id, [.. TenantStatus.All], TenantStatus.Deleting, ct);
        cache.Invalidate(identifier);
        await RemoveAsync(tenant, ct);
        LogDeleted(logger, identifier);
        return new ProvisioningResult(ProvisioningStatus.Done, tenant with { Status = TenantStatus.Deleting });
    }

    private async Task<ProvisioningResult> TransitionAsync(string identifier, string to, CancellationToken ct)
    {
        var tenant = await catalog.FindAsync(identifier, ct);
        if (tenant is null)
        {
            return ProvisioningResult.NotFound();
        }

        var moved = await catalog.TransitionAsync(tenant.Id, [TenantStatus.Active, TenantStatus.Suspended], to, ct);
        cache.Invalidate(identifier);
        return moved is null
            ? ProvisioningResult.Conflict($"Tenant '{identifier}' is {tenant.Status}; only active and suspended tenants can be suspended or resumed.")
            : new ProvisioningResult(ProvisioningStatus.Done, moved);
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

    private async Task CreateSchemaAndRoleAsync(TenantInfo tenant, CancellationToken ct)
    {
        var schema = SqlIdentifier.Quote(tenant.SchemaName);
        var role = SqlIdentifier.Quote(tenant.RoleName);
        var requestRole = SqlIdentifier.QuoteConfigured(database.RequestRole);
        await using var connection = await database.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        // The request role becomes the tenant's role for each unit of work; being NOINHERIT it holds none of its rights.
        await using var command = new NpgsqlCommand(
            $"""
             CREATE ROLE {role} NOLOGIN NOINHERIT;
             GRANT {role} TO CURRENT_USER;
             GRANT {role} TO {requestRole};
             CREATE SCHEMA {schema};
             REVOKE ALL ON SCHEMA {schema} FROM PUBLIC;
             GRANT USAGE ON SCHEMA {schema} TO {role};
             """, connection, transaction);
        await command.ExecuteNonQueryAsync(ct);
        await transaction.CommitAsync(ct);
    }

    /// <summary>Idempotent: removes whatever exists of a tenant's tables, schema, role and catalog row.</summary>
    private async Task RemoveAsync(TenantInfo tenant, CancellationToken ct)
    {
        var schema = SqlIdentifier.Quote(tenant.SchemaName);
        var role = SqlIdentifier.Quote(tenant.RoleName);
        await using var connection = await database.OpenConnectionAsync(ct);

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

        await using (var dropSchema = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", connection))
        {
            await dropSchema.ExecuteNonQueryAsync(ct);
        }

        await using (var exists = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", connection))
        {
            exists.Parameters.AddWithValue(tenant.RoleName);
            if ((bool)(await exists.ExecuteScalarAsync(ct))!)
            {
                await using var dropRole = new NpgsqlCommand($"DROP OWNED BY {role}; DROP ROLE {role}", connection);
                await dropRole.ExecuteNonQueryAsync(ct);
            }
        }

        await catalog.DeleteRowAsync(tenant.Id, ct);
        cache.Invalidate(tenant.Identifier);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Provisioned tenant {Identifier} at schema version {Version}")]
    private static partial void LogProvisioned(ILogger logger, string identifier, string? version);

    [LoggerMessage(Level = LogLevel.Error, Message = "Provisioning tenant {Identifier} failed; removing what it made")]
    private static partial void LogProvisioningFailed(ILogger logger, string identifier, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted tenant {Identifier}")]
    private static partial void LogDeleted(ILogger logger, string identifier);
}

/// <summary>The tenant scripts in force; a singleton so tests can add a broken one.</summary>
public sealed record TenantScripts(MigrationScripts Value);
