using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Idempotency;
using Monolith.SharedKernel.Http.OpenApi;

namespace Monolith.Tenancy.Backups;

internal sealed record BackupAccepted(Guid Id, string Status);

internal sealed record RestoreAccepted(Guid JobId);

/// <summary>Backups of CONTRACT §4, behind the platform key (the caller maps them into its <c>/platform</c> group).</summary>
internal static class BackupEndpoints
{
    private sealed record Position(Guid Id);

    public static void Map(RouteGroupBuilder platform)
    {
        platform.MapPost("/tenants/{identifier}/backups", StartAsync).WithPlatformIdempotency()
            .ProducesNotFound().ProducesProblems(StatusCodes.Status409Conflict, "tenant-state");
        platform.MapGet("/tenants/{identifier}/backups", ListAsync);
        platform.MapPost("/backups/{id:guid}/restore", RestoreAsync).WithPlatformIdempotency<RestoreRequest>()
            .ProducesNotFound().ProducesProblems(StatusCodes.Status409Conflict, "tenant-exists");
        platform.MapGet("/restores/{jobId:guid}", async Task<Results<Ok<RestoreJob>, ProblemHttpResult>> (Guid jobId, RestoreJobs restores, CancellationToken ct) =>
            await restores.FindAsync(jobId, ct) is { } job ? TypedResults.Ok(job) : Problems.NotFound("No restore with that id."))
            .ProducesNotFound();
        platform.MapGet("/backups/{id:guid}", async Task<Results<Ok<BackupResponse>, ProblemHttpResult>> (Guid id, TenantBackups backups, CancellationToken ct) =>
            await backups.FindAsync(id, ct) is { } backup ? TypedResults.Ok(backup) : Problems.NotFound("No backup with that id."))
            .ProducesNotFound();
    }

    private static async Task<Results<Accepted<BackupAccepted>, ProblemHttpResult>> StartAsync(string identifier, BackupJobs jobs, CancellationToken ct)
    {
        var (start, backup) = await jobs.StartAsync(identifier, ct);
        return start switch
        {
            BackupStart.Accepted => TypedResults.Accepted($"/platform/backups/{backup!.Id}", new BackupAccepted(backup.Id, backup.Status)),
            BackupStart.UnknownTenant => Problems.NotFound("No tenant with that identifier exists."),
            _ => Problems.Conflict("tenant-state", $"Tenant '{identifier}' is being provisioned or purged; it cannot be backed up now."),
        };
    }

    private static async Task<Results<Accepted<RestoreAccepted>, ValidationProblem, ProblemHttpResult>> RestoreAsync(
        Guid id, RestoreRequest request, RestoreJobs restores, CancellationToken ct)
    {
        if (request.Name is { } name && name.Trim().Length is < 1 or > 200)
        {
            return Problems.Validation("name", "name must be 1 to 200 characters long.");
        }

        var (start, jobId, detail) = await restores.StartAsync(id, request, ct);
        return start switch
        {
            RestoreStart.Accepted => TypedResults.Accepted($"/platform/restores/{jobId}", new RestoreAccepted(jobId!.Value)),
            RestoreStart.Invalid => Problems.Validation("identifier", detail!),
            RestoreStart.UnknownBackup => Problems.NotFound(detail!),
            _ => Problems.Conflict("tenant-exists", detail!),
        };
    }

    private static async Task<Results<Ok<Page<BackupResponse>>, ValidationProblem>> ListAsync(
        string identifier, string? limit, string? cursor, HttpRequest request, TenantBackups backups, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ListQuery.RejectUnknownParameters(request, errors, "limit", "cursor");
        var page = PageRequest.Parse(limit, cursor, errors);
        Position? after = null;
        if (page.Cursor is not null && !Cursor.TryDecode(page.Cursor, out after))
        {
            errors.Add("cursor", Cursor.InvalidMessage);
        }

        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        var rows = await backups.ListAsync(identifier, after?.Id, page.ReadCount, ct);
        return TypedResults.Ok(page.ToPage(rows.ToList(), b => new Position(b.Id)));
    }
}
