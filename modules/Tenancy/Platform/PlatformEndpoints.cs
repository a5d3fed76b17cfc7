using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Provisioning;

namespace Monolith.Tenancy.Platform;

public sealed record CreateTenantRequest(string? Identifier, string? Name, string? OwnerEmail, string? OwnerPassword);

public sealed record UpdateTenantRequest(string? Name, int? AuditRetentionDays, int? LogRetentionDays);

public sealed record TenantResponse(
    Guid Id,
    string Identifier,
    string Name,
    string Status,
    string? SchemaVersion,
    DateTimeOffset CreatedAt,
    int AuditRetentionDays,
    int LogRetentionDays);

public sealed record OwnerCredentials(string Email, string? Password);

public sealed record CreatedTenantResponse(
    Guid Id,
    string Identifier,
    string Name,
    string Status,
    string? SchemaVersion,
    DateTimeOffset CreatedAt,
    int AuditRetentionDays,
    int LogRetentionDays,
    OwnerCredentials Owner);

public sealed record MigrationJobAccepted(Guid JobId);

/// <summary>The platform API of CONTRACT §4: tenants and migrations, behind <c>X-Platform-Key</c>.</summary>
internal static class PlatformEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        // Anonymous for the authorization layer: X-Platform-Key (the filter) is its only credential; a bearer token opens nothing here.
        var platform = app.MapGroup("/platform").AllowAnonymous().AddEndpointFilter<PlatformKeyFilter>().WithTags("Platform");
        var tenants = platform.MapGroup("/tenants");
        tenants.MapPost("/", CreateAsync);
        tenants.MapGet("/", ListAsync);
        tenants.MapGet("/{identifier}", GetAsync);
        tenants.MapPatch("/{identifier}", UpdateAsync);
        tenants.MapPost("/{identifier}/suspend", (string identifier, TenantProvisioner provisioner, IOptions<TenancyOptions> options, CancellationToken ct) =>
            Answer(provisioner.SuspendAsync(identifier, ct), options.Value));
        tenants.MapPost("/{identifier}/resume", (string identifier, TenantProvisioner provisioner, IOptions<TenancyOptions> options, CancellationToken ct) =>
            Answer(provisioner.ResumeAsync(identifier, ct), options.Value));
        tenants.MapDelete("/{identifier}", DeleteAsync);

        platform.MapPost("/migrations", async (MigrationJobs jobs, CancellationToken ct) =>
        {
            var id = await jobs.EnqueueAsync(ct);
            return TypedResults.Accepted($"/platform/migrations/{id}", new MigrationJobAccepted(id));
        });
        platform.MapGet("/migrations/{jobId:guid}", async Task<Results<Ok<MigrationJob>, ProblemHttpResult>> (Guid jobId, MigrationJobs jobs, CancellationToken ct) =>
            await jobs.FindAsync(jobId, ct) is { } job ? TypedResults.Ok(job) : Problems.NotFound("No migration job with that id."));
    }

    public static TenantResponse ToResponse(TenantInfo tenant, TenancyOptions options) => new(
        tenant.Id, tenant.Identifier, tenant.Name, tenant.Status, tenant.SchemaVersion, tenant.CreatedAt,
        tenant.AuditRetentionDays ?? options.DefaultAuditRetentionDays,
        tenant.LogRetentionDays ?? options.DefaultLogRetentionDays);

    private static async Task<Results<Created<CreatedTenantResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateTenantRequest request, TenantProvisioner provisioner, IOptions<TenancyOptions> options, CancellationToken ct)
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
                var t = ToResponse(result.Tenant!, options.Value);
                var body = new CreatedTenantResponse(t.Id, t.Identifier, t.Name, t.Status, t.SchemaVersion, t.CreatedAt, t.AuditRetentionDays,
                    t.LogRetentionDays, new OwnerCredentials(request.OwnerEmail!.Trim(), result.GeneratedOwnerPassword));
                return TypedResults.Created($"/platform/tenants/{t.Identifier}", body);
            default:
                return Problems.NotFound();
        }
    }

    private static async Task<Results<Ok<Page<TenantResponse>>, ValidationProblem>> ListAsync(
        string? status, string? limit, string? cursor, TenantCatalog catalog, IOptions<TenancyOptions> options, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var page = PageRequest.Parse(limit, cursor, errors);
        if (status is not null && !TenantStatus.All.Contains(status))
        {
            errors["status"] = [$"status must be one of: {string.Join(", ", TenantStatus.All)}."];
        }

        string? after = null;
        if (page.Cursor is not null && !Cursor.TryDecode(page.Cursor, out after))
        {
            errors["cursor"] = [Cursor.InvalidMessage];
        }

        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        var rows = await catalog.ListAsync(status, after, page.Limit + 1, ct);
        var items = rows.Take(page.Limit).Select(t => ToResponse(t, options.Value)).ToArray();
        var next = rows.Count > page.Limit ? Cursor.Encode(items[^1].Identifier) : null;
        return TypedResults.Ok(new Page<TenantResponse>(items, next));
    }

    private static async Task<Results<Ok<TenantResponse>, ProblemHttpResult>> GetAsync(
        string identifier, TenantCatalog catalog, IOptions<TenancyOptions> options, CancellationToken ct) =>
        await catalog.FindAsync(identifier, ct) is { } tenant
            ? TypedResults.Ok(ToResponse(tenant, options.Value))
            : Problems.NotFound("No tenant with that identifier exists.");

    private static Task<Results<Ok<TenantResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        string identifier, UpdateTenantRequest request, TenantProvisioner provisioner, IOptions<TenancyOptions> options, CancellationToken ct) =>
        Answer(provisioner.UpdateAsync(identifier, request.Name, request.AuditRetentionDays, request.LogRetentionDays, ct), options.Value);

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string identifier, TenantProvisioner provisioner, CancellationToken ct)
    {
        var result = await provisioner.DeleteAsync(identifier, ct);
        return result.Status switch
        {
            ProvisioningStatus.Done => TypedResults.NoContent(),
            ProvisioningStatus.Conflict => Problems.Conflict("tenant-busy", result.Detail!),
            _ => Problems.NotFound(result.Detail!),
        };
    }

    private static async Task<Results<Ok<TenantResponse>, ValidationProblem, ProblemHttpResult>> Answer(Task<ProvisioningResult> operation, TenancyOptions options)
    {
        var result = await operation;
        return result.Status switch
        {
            ProvisioningStatus.Done => TypedResults.Ok(ToResponse(result.Tenant!, options)),
            ProvisioningStatus.Invalid => Problems.Validation(result.Errors!),
            ProvisioningStatus.Conflict => Problems.Conflict("tenant-state", result.Detail!),
            _ => Problems.NotFound(result.Detail!),
        };
    }
}
