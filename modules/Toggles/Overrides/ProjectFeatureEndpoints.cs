using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Contracts;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Http.OpenApi;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Resolution;
using Monolith.Toggles.Contracts;
using Monolith.Toggles.Data;
using Monolith.Toggles.Definitions;
using Monolith.Toggles.Evaluation;
using Npgsql;

namespace Monolith.Toggles.Overrides;

internal sealed record OverrideRequest(bool? Enabled);

internal sealed record OverrideResponse(
    Guid ProjectId,
    string Key,
    bool Enabled,
    DateTimeOffset CreatedAt,
    Actor CreatedBy,
    DateTimeOffset UpdatedAt,
    Actor UpdatedBy);

internal sealed record EvaluationResponse(
    string Key,
    bool Enabled,
    ToggleReason Reason,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Variant)
{
    internal static EvaluationResponse From(ToggleEvaluation evaluation) =>
        new(evaluation.Key, evaluation.Enabled, evaluation.Reason, evaluation.Variant);
}

/// <summary>
/// A project's toggles: its evaluations (<c>GET /projects/{id}/features[/{key}]</c>, viewer+) and its
/// overrides (<c>PUT/DELETE /projects/{id}/features/{key}</c>, member+). Unknown projects (including another
/// tenant's) are 404, asked of Customers through <see cref="IProjectLookup"/>.
/// </summary>
internal static class ProjectFeatureEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var features = app.MapGroup("/projects/{projectId:guid}/features").RequireTenant().RequireAuthorization(Policies.Viewer)
            .WithTags("Feature toggles");
        features.MapGet("/", ListAsync).ProducesNotFound();
        features.MapGet("/{key}", GetAsync).ProducesNotFound();
        features.MapPut("/{key}", PutAsync).RequireAuthorization(Policies.Member).ProducesNotFound();
        features.MapDelete("/{key}", DeleteAsync).RequireAuthorization(Policies.Member).ProducesNotFound();
    }

    private sealed record ListPosition(string After);

    private static async Task<Results<Ok<Page<EvaluationResponse>>, ProblemHttpResult, ValidationProblem>> ListAsync(
        Guid projectId, string? limit, string? cursor, HttpRequest request, [FromServices] IProjectLookup projects, ToggleCache cache, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ListQuery.RejectUnknownParameters(request, errors, "limit", "cursor");
        var page = PageRequest.Parse(limit, cursor, errors);
        ListPosition? position = null;
        if (page.Cursor is not null && !Cursor.TryDecode(page.Cursor, out position))
        {
            errors.Add("cursor", Cursor.InvalidMessage);
        }

        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        if (!await projects.ExistsAsync(projectId, ct))
        {
            return ProjectNotFound();
        }

        var state = await cache.GetTenantAsync(ct);
        var overrides = await cache.GetProjectAsync(state, projectId, ct);
        var keys = state.SortedKeys;
        var start = 0;
        if (position is not null)
        {
            var index = Array.BinarySearch(keys, position.After, StringComparer.Ordinal);
            start = index >= 0 ? index + 1 : ~index;
        }

        var items = new List<EvaluationResponse>(Math.Min(page.Limit, Math.Max(0, keys.Length - start)));
        for (var i = start; i < keys.Length && items.Count < page.Limit; i++)
        {
            items.Add(EvaluationResponse.From(state.Evaluate(keys[i], projectId, overrides)));
        }

        var next = start + items.Count < keys.Length && items.Count > 0 ? Cursor.Encode(new ListPosition(items[^1].Key)) : null;
        return TypedResults.Ok(new Page<EvaluationResponse>(items, next));
    }

    private static async Task<Results<Ok<EvaluationResponse>, ProblemHttpResult, ValidationProblem>> GetAsync(
        Guid projectId, string key, [FromServices] IProjectLookup projects, ToggleCache cache, CancellationToken ct)
    {
        if (!ToggleKey.IsValid(key))
        {
            return Problems.Validation("key", ToggleKey.Message);
        }

        if (!await projects.ExistsAsync(projectId, ct))
        {
            return ProjectNotFound();
        }

        return TypedResults.Ok(EvaluationResponse.From(await cache.EvaluateOrThrowAsync(key, projectId, ct)));
    }

    private static async Task<Results<Ok<OverrideResponse>, Created<OverrideResponse>, ProblemHttpResult, ValidationProblem>> PutAsync(
        Guid projectId, string key, OverrideRequest request, [FromServices] IProjectLookup projects, TogglesDatabase database, TenantContext tenants,
        ToggleCache cache, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (!ToggleKey.IsValid(key))
        {
            errors.Add("key", ToggleKey.Message);
        }

        if (request.Enabled is null)
        {
            errors.Add("enabled", "enabled is required (true or false).");
        }

        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        if (!await projects.ExistsAsync(projectId, ct))
        {
            return ProjectNotFound();
        }

        // SQL: an upsert that writes only a real change (ON CONFLICT ... WHERE), and tells an insert from an update.
        await using var work = await database.BeginAsync(ct);
        OverrideWritten? written;
        try
        {
            written = await work.Db.OverridesWritten.FromSql(
                $"""
                 INSERT INTO feature_overrides (project_id, key, enabled) VALUES ({projectId}, {key}, {request.Enabled!.Value})
                 ON CONFLICT (project_id, key) DO UPDATE SET enabled = excluded.enabled, updated_at = now(),
                        updated_by_id = nullif(current_setting('monolith.actor_id', true), '')::uuid,
                        updated_by = nullif(current_setting('monolith.actor_email', true), '')
                     WHERE feature_overrides.enabled IS DISTINCT FROM excluded.enabled
                 RETURNING *, xmax = 0 AS inserted
                 """).FirstOrNullAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            return Problems.NotFound("No feature toggle with that key is defined; an admin defines it first (PUT /features/{key}).");
        }

        if (written is null)
        {
            // Already so: nothing written, nothing audited.
            var unchanged = await work.Db.Overrides.FirstOrDefaultAsync(o => o.ProjectId == projectId && o.Key == key, ct);
            return unchanged is null ? Problems.NotFound("No feature toggle with that key is defined.") : TypedResults.Ok(Response(unchanged));
        }

        await work.CommitAsync(ct);
        cache.Invalidate(tenants.Required.SchemaName);
        var saved = new OverrideResponse(
            written.ProjectId, written.Key, written.Enabled, written.CreatedAt, new Actor(written.CreatedById, written.CreatedBy),
            written.UpdatedAt, new Actor(written.UpdatedById, written.UpdatedBy));
        return written.Inserted ? TypedResults.Created($"/projects/{projectId}/features/{key}", saved) : TypedResults.Ok(saved);
    }

    private static async Task<Results<NoContent, ProblemHttpResult, ValidationProblem>> DeleteAsync(
        Guid projectId, string key, [FromServices] IProjectLookup projects, TogglesDatabase database, TenantContext tenants, ToggleCache cache, CancellationToken ct)
    {
        if (!ToggleKey.IsValid(key))
        {
            return Problems.Validation("key", ToggleKey.Message);
        }

        if (!await projects.ExistsAsync(projectId, ct))
        {
            return ProjectNotFound();
        }

        await using var work = await database.BeginAsync(ct);
        if (await work.Db.Overrides.Where(o => o.ProjectId == projectId && o.Key == key).ExecuteDeleteAsync(ct) == 0)
        {
            return Problems.NotFound("The project has no override for that key.");
        }

        await work.CommitAsync(ct);
        cache.Invalidate(tenants.Required.SchemaName);
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult ProjectNotFound() => Problems.NotFound("No project with that id.");

    private static OverrideResponse Response(FeatureOverride o) => new(
        o.ProjectId, o.Key, o.Enabled, o.CreatedAt, new Actor(o.CreatedById, o.CreatedBy), o.UpdatedAt, new Actor(o.UpdatedById, o.UpdatedBy));
}
