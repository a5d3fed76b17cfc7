using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Backups;
using Monolith.Tenancy.Idempotency;
using Monolith.Tenancy.Bounds;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Operators;
using Monolith.Tenancy.Placement;
using Monolith.Tenancy.Provisioning;
using Monolith.SharedKernel.Http.OpenApi;

namespace Monolith.Tenancy.Platform;

internal sealed record CreateTenantRequest(string? Identifier, string? Name, string? OwnerEmail, string? OwnerPassword);

/// <summary>
/// JSON merge patch of a tenant's settings: an absent member stays as it is; <c>null</c> returns a setting to the
/// configured default.
/// </summary>
internal sealed record UpdateTenantRequest(
    JsonElement Name, JsonElement AuditRetentionDays, JsonElement LogRetentionDays, JsonElement StatementTimeoutMs, JsonElement MaxConcurrency);

internal sealed record TenantResponse(
    Guid Id,
    string Identifier,
    string Name,
    string Status,
    string? SchemaVersion,
    DateTimeOffset CreatedAt,
    int AuditRetentionDays,
    int LogRetentionDays,
    int StatementTimeoutMs,
    int MaxConcurrency,
    DateTimeOffset? DeletedAt = null,
    DateTimeOffset? PurgeAfter = null,
    string Server = TenantServers.Catalog,
    string? MovingTo = null);

internal sealed record MoveTenantRequest(string? To);

internal sealed record TenantMoveResponse(
    TenantResponse Tenant, string From, string To, long FrozenMs, long TotalMs, Guid BackupId, long CaughtUpRows, long CaughtUpDeletes);

internal sealed record AddServerRequest(string? Name, string? RequestConnection, string? OwnerConnection, int? Capacity);

internal sealed record UpdateServerRequest(int? Capacity, string? Status, string? RequestConnection = null, string? OwnerConnection = null);

internal sealed record OwnerCredentials(string Email, string? Password);

internal sealed record CreatedTenantResponse(
    Guid Id,
    string Identifier,
    string Name,
    string Status,
    string? SchemaVersion,
    DateTimeOffset CreatedAt,
    int AuditRetentionDays,
    int LogRetentionDays,
    int StatementTimeoutMs,
    int MaxConcurrency,
    OwnerCredentials Owner);

internal sealed record MigrationJobAccepted(Guid JobId);

/// <summary>The platform API of CONTRACT §4: tenants and migrations, behind <c>X-Platform-Key</c>.</summary>
internal static class PlatformEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var platform = app.MapGroup("/platform").RequirePlatformKey().WithTags("Platform");
        var tenants = platform.MapGroup("/tenants");
        // A replay of a creation answers the first 201 without the generated owner password, which is told once.
        tenants.MapPost("/", CreateAsync).WithPlatformIdempotency<CreateTenantRequest>("owner.password")
            .ProducesProblems(StatusCodes.Status409Conflict, "tenant-exists")
            .ProducesProblems(StatusCodes.Status500InternalServerError, "provisioning-failed");
        tenants.MapGet("/", ListAsync);
        tenants.MapGet("/{identifier}", GetAsync).ProducesNotFound();
        tenants.MapPatch("/{identifier}", UpdateAsync).ProducesNotFound().ProducesProblems(StatusCodes.Status409Conflict, "tenant-state");
        tenants.MapPost("/{identifier}/suspend", (string identifier, TenantProvisioner provisioner, IOptions<TenancyOptions> options, TenantBounds bounds, CancellationToken ct) =>
            Answer(provisioner.SuspendAsync(identifier, ct), options.Value, bounds)).WithPlatformIdempotency()
            .ProducesNotFound().ProducesProblems(StatusCodes.Status409Conflict, "tenant-state");
        tenants.MapPost("/{identifier}/resume", (string identifier, TenantProvisioner provisioner, IOptions<TenancyOptions> options, TenantBounds bounds, CancellationToken ct) =>
            Answer(provisioner.ResumeAsync(identifier, ct), options.Value, bounds)).WithPlatformIdempotency()
            .ProducesNotFound().ProducesProblems(StatusCodes.Status409Conflict, "tenant-state");
        tenants.MapDelete("/{identifier}", DeleteAsync).ProducesNotFound()
            .ProducesProblems(StatusCodes.Status409Conflict, "tenant-state", "tenant-busy")
            .ProducesProblems(StatusCodes.Status503ServiceUnavailable, "backup-failed");
        tenants.MapPost("/{identifier}/move", MoveAsync).WithPlatformIdempotency<MoveTenantRequest>()
            .ProducesNotFound().ProducesProblems(StatusCodes.Status409Conflict, "tenant-state")
            .ProducesProblems(StatusCodes.Status503ServiceUnavailable, "move-failed");
        tenants.MapPost("/{identifier}/undelete", (string identifier, TenantProvisioner provisioner, IOptions<TenancyOptions> options, TenantBounds bounds, CancellationToken ct) =>
            Answer(provisioner.UndeleteAsync(identifier, ct), options.Value, bounds)).WithPlatformIdempotency()
            .ProducesNotFound().ProducesProblems(StatusCodes.Status409Conflict, "tenant-state");

        var servers = platform.MapGroup("/servers");
        servers.MapGet("/", async (ServerMap map, CancellationToken ct) => TypedResults.Ok(await map.ListAsync(ct)));
        servers.MapPost("/", AddServerAsync).WithPlatformIdempotency<AddServerRequest>().ProducesProblems(StatusCodes.Status409Conflict, "server-exists");
        servers.MapPatch("/{name}", UpdateServerAsync).ProducesNotFound();

        platform.MapGet("/audit-events", ListOperatorEvents.HandleAsync);
        BackupEndpoints.Map(platform);

        platform.MapPost("/migrations", async (MigrationJobs jobs, CancellationToken ct) =>
        {
            var id = await jobs.EnqueueAsync(ct);
            return TypedResults.Accepted($"/platform/migrations/{id}", new MigrationJobAccepted(id));
        }).WithPlatformIdempotency();
        platform.MapGet("/migrations/{jobId:guid}", async Task<Results<Ok<MigrationJob>, ProblemHttpResult>> (Guid jobId, MigrationJobs jobs, CancellationToken ct) =>
            await jobs.FindAsync(jobId, ct) is { } job ? TypedResults.Ok(job) : Problems.NotFound("No migration job with that id."))
            .ProducesNotFound();
    }

    public static TenantResponse ToResponse(TenantInfo tenant, TenancyOptions options, TenantBounds bounds) => new(
        tenant.Id, tenant.Identifier, tenant.Name, tenant.Status, tenant.SchemaVersion, tenant.CreatedAt,
        tenant.AuditRetentionDays ?? options.DefaultAuditRetentionDays,
        tenant.LogRetentionDays ?? options.DefaultLogRetentionDays,
        bounds.StatementTimeoutMs(tenant),
        bounds.MaxConcurrency(tenant),
        tenant.DeletedAt,
        tenant.PurgeAfter,
        tenant.Server,
        tenant.MovingTo);

    private static async Task<Results<Ok<TenantMoveResponse>, ValidationProblem, ProblemHttpResult>> MoveAsync(
        string identifier, MoveTenantRequest request, TenantProvisioner provisioner, IEnumerable<ITenantMoveStep> steps, IOptions<TenancyOptions> options,
        TenantBounds bounds, CancellationToken ct)
    {
        try
        {
            var (result, outcome) = await provisioner.MoveAsync(identifier, request.To?.Trim(), steps, ct);
            return result.Status switch
            {
                ProvisioningStatus.Done => TypedResults.Ok(new TenantMoveResponse(ToResponse(result.Tenant!, options.Value, bounds), outcome!.From, outcome.To,
                    (long)outcome.Frozen.TotalMilliseconds, (long)outcome.Total.TotalMilliseconds, outcome.BackupId, outcome.CaughtUpRows, outcome.CaughtUpDeletes)),
                ProvisioningStatus.Invalid => Problems.Validation(result.Errors!),
                ProvisioningStatus.Conflict => Problems.Conflict("tenant-state", result.Detail!),
                _ => Problems.NotFound(result.Detail!),
            };
        }
        catch (ProvisioningFailedException e)
        {
            return Problems.Create(StatusCodes.Status503ServiceUnavailable, "move-failed", "Move failed.",
                $"{e.Message} Its data is as it was; the move can be retried.");
        }
    }

    private static async Task<Results<Created<ServerInfo>, ValidationProblem, ProblemHttpResult>> AddServerAsync(
        AddServerRequest request, ServerMap map, CancellationToken ct)
    {
        var result = await map.AddAsync(request.Name?.Trim(), request.RequestConnection, request.OwnerConnection, request.Capacity, ct);
        return result.Status switch
        {
            ServerChange.Done => TypedResults.Created($"/platform/servers/{result.Server!.Name}", result.Server),
            ServerChange.Invalid => Problems.Validation(result.Errors!),
            _ => Problems.Conflict("server-exists", result.Detail!),
        };
    }

    private static async Task<Results<Ok<ServerInfo>, ValidationProblem, ProblemHttpResult>> UpdateServerAsync(
        string name, UpdateServerRequest request, ServerMap map, CancellationToken ct)
    {
        var result = await map.UpdateAsync(name, request.Capacity, request.Status, request.RequestConnection, request.OwnerConnection, ct);
        return result.Status switch
        {
            ServerChange.Done => TypedResults.Ok(result.Server!),
            ServerChange.Invalid => Problems.Validation(result.Errors!),
            _ => Problems.NotFound(result.Detail!),
        };
    }

    private static async Task<Results<Created<CreatedTenantResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateTenantRequest request, TenantProvisioner provisioner, IOptions<TenancyOptions> options, TenantBounds bounds, CancellationToken ct)
    {
        ProvisioningResult result;
        try
        {
            result = await provisioner.CreateAsync(new CreateTenantCommand(request.Identifier, request.Name, request.OwnerEmail, request.OwnerPassword), ct);
        }
        catch (ProvisioningFailedException)
        {
            return Problems.Create(StatusCodes.Status500InternalServerError, "provisioning-failed", "Provisioning failed.",
                "The tenant could not be provisioned. Nothing was left behind; the request can be retried.");
        }

        switch (result.Status)
        {
            case ProvisioningStatus.Invalid:
                return Problems.Validation(result.Errors!);
            case ProvisioningStatus.Conflict:
                return Problems.Conflict("tenant-exists", result.Detail!);
            case ProvisioningStatus.Done:
                var t = ToResponse(result.Tenant!, options.Value, bounds);
                var body = new CreatedTenantResponse(t.Id, t.Identifier, t.Name, t.Status, t.SchemaVersion, t.CreatedAt, t.AuditRetentionDays,
                    t.LogRetentionDays, t.StatementTimeoutMs, t.MaxConcurrency, new OwnerCredentials(request.OwnerEmail!.Trim(), result.GeneratedOwnerPassword));
                return TypedResults.Created($"/platform/tenants/{t.Identifier}", body);
            default:
                return Problems.NotFound();
        }
    }

    private static async Task<Results<Ok<Page<TenantResponse>>, ValidationProblem>> ListAsync(
        string? status, string? limit, string? cursor, HttpRequest request, TenantCatalog catalog, IOptions<TenancyOptions> options, TenantBounds bounds,
        CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ListQuery.RejectUnknownParameters(request, errors, "status", "limit", "cursor");
        var page = PageRequest.Parse(limit, cursor, errors);
        if (status is not null && !TenantStatus.All.Contains(status))
        {
            errors.Add("status", $"status must be one of: {string.Join(", ", TenantStatus.All)}.");
        }

        string? after = null;
        if (page.Cursor is not null && !Cursor.TryDecode(page.Cursor, out after))
        {
            errors.Add("cursor", Cursor.InvalidMessage);
        }

        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        var rows = await catalog.ListAsync(status, after, page.ReadCount, ct);
        return TypedResults.Ok(page.ToPage(rows.ToList(), t => t.Identifier).Select(t => ToResponse(t, options.Value, bounds)));
    }

    private static async Task<Results<Ok<TenantResponse>, ProblemHttpResult>> GetAsync(
        string identifier, TenantCatalog catalog, IOptions<TenancyOptions> options, TenantBounds bounds, CancellationToken ct) =>
        await catalog.FindAsync(identifier, ct) is { } tenant
            ? TypedResults.Ok(ToResponse(tenant, options.Value, bounds))
            : Problems.NotFound("No tenant with that identifier exists.");

    private static async Task<Results<Ok<TenantResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        string identifier, UpdateTenantRequest request, TenantProvisioner provisioner, IOptions<TenancyOptions> options, TenantBounds bounds,
        CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var changes = new TenantChanges(
            Name: request.Name.ValueKind switch
            {
                JsonValueKind.Undefined => null,
                JsonValueKind.String => request.Name.GetString(),
                _ => Invalid(errors, "name", "name must be a string."),
            },
            AuditRetentionDays: Setting(errors, "auditRetentionDays", request.AuditRetentionDays),
            LogRetentionDays: Setting(errors, "logRetentionDays", request.LogRetentionDays),
            StatementTimeoutMs: Setting(errors, "statementTimeoutMs", request.StatementTimeoutMs),
            MaxConcurrency: Setting(errors, "maxConcurrency", request.MaxConcurrency));
        return errors.Any
            ? Problems.Validation(errors)
            : await Answer(provisioner.UpdateAsync(identifier, changes, ct), options.Value, bounds);
    }

    private static SettingChange Setting(ValidationErrors errors, string field, JsonElement member)
    {
        switch (member.ValueKind)
        {
            case JsonValueKind.Undefined:
                return SettingChange.Unchanged;
            case JsonValueKind.Null:
                return SettingChange.ToDefault;
            case JsonValueKind.Number when member.TryGetInt32(out var value):
                return SettingChange.To(value);
            default:
                errors.Add(field, $"{field} must be a whole number, or null for the configured default.");
                return SettingChange.Unchanged;
        }
    }

    private static string? Invalid(ValidationErrors errors, string field, string message)
    {
        errors.Add(field, message);
        return null;
    }

    /// <summary>
    /// Without <c>purge</c>: a soft delete (200, the tenant with status <c>deleted</c> and <c>purgeAfter</c>). With
    /// <c>purge=true</c>: gone at once (204), after a final backup unless <c>archive=false</c>.
    /// </summary>
    private static async Task<Results<Ok<TenantResponse>, NoContent, ValidationProblem, ProblemHttpResult>> DeleteAsync(
        string identifier, string? purge, string? archive, HttpRequest request, TenantProvisioner provisioner, IOptions<TenancyOptions> options,
        TenantBounds bounds, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ListQuery.RejectUnknownParameters(request, errors, "purge", "archive");
        var purgeNow = Flag(errors, "purge", purge, false);
        var keepArchive = Flag(errors, "archive", archive, true);
        if (archive is not null && !purgeNow && !errors.Has("archive"))
        {
            errors.Add("archive", "archive only applies with purge=true.");
        }

        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        if (!purgeNow)
        {
            var deleted = await provisioner.DeleteAsync(identifier, ct);
            return deleted.Status switch
            {
                ProvisioningStatus.Done => TypedResults.Ok(ToResponse(deleted.Tenant!, options.Value, bounds)),
                ProvisioningStatus.Conflict => Problems.Conflict("tenant-state", deleted.Detail!),
                _ => Problems.NotFound(deleted.Detail!),
            };
        }

        var purged = await provisioner.PurgeAsync(identifier, keepArchive, ct);
        return purged.Status switch
        {
            ProvisioningStatus.Done => TypedResults.NoContent(),
            ProvisioningStatus.Conflict => Problems.Conflict("tenant-busy", purged.Detail!),
            ProvisioningStatus.Failed => Problems.Create(StatusCodes.Status503ServiceUnavailable, "backup-failed", "Final backup failed.", purged.Detail!),
            _ => Problems.NotFound(purged.Detail!),
        };
    }

    private static bool Flag(ValidationErrors errors, string name, string? value, bool absent) => value switch
    {
        null => absent,
        "true" => true,
        "false" => false,
        _ => Invalid(errors, name, $"{name} must be true or false.") is not null,
    };

    private static async Task<Results<Ok<TenantResponse>, ValidationProblem, ProblemHttpResult>> Answer(
        Task<ProvisioningResult> operation, TenancyOptions options, TenantBounds bounds)
    {
        var result = await operation;
        return result.Status switch
        {
            ProvisioningStatus.Done => TypedResults.Ok(ToResponse(result.Tenant!, options, bounds)),
            ProvisioningStatus.Invalid => Problems.Validation(result.Errors!),
            ProvisioningStatus.Conflict => Problems.Conflict("tenant-state", result.Detail!),
            _ => Problems.NotFound(result.Detail!),
        };
    }
}
