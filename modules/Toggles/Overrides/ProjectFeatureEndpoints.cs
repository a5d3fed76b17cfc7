using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Monolith.Customers.Contracts;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Resolution;
using Monolith.Toggles.Contracts;
using Monolith.Toggles.Definitions;
using Monolith.Toggles.Evaluation;
using Npgsql;
using Monolith.SharedKernel.Http.OpenApi;

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
    private const string Columns = "project_id, key, enabled, created_at, created_by_id, created_by, updated_at, updated_by_id, updated_by";

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
        Guid projectId, string key, OverrideRequest request, [FromServices] IProjectLookup projects, TenantDatabase database, TenantContext tenants,
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

        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        await using var command = new NpgsqlCommand(
            $"""
             INSERT INTO feature_overrides (project_id, key, enabled) VALUES ($1, $2, $3)
             ON CONFLICT (project_id, key) DO UPDATE SET enabled = excluded.enabled, updated_at = now(),
                    updated_by_id = nullif(current_setting('monolith.actor_id', true), '')::uuid,
                    updated_by = nullif(current_setting('monolith.actor_email', true), '')
                 WHERE feature_overrides.enabled IS DISTINCT FROM excluded.enabled
             RETURNING {Columns}, xmax = 0
             """, connection);
        command.Parameters.AddWithValue(projectId);
        command.Parameters.AddWithValue(key);
        command.Parameters.AddWithValue(request.Enabled!.Value);
        OverrideResponse? saved = null;
        var created = false;
        try
        {
            await using var reader = await command.ExecuteReaderAsync(ct);
            if (await reader.ReadAsync(ct))
            {
                saved = Read(reader);
                created = reader.GetBoolean(9);
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            return Problems.NotFound("No feature toggle with that key is defined; an admin defines it first (PUT /features/{key}).");
        }

        if (saved is null)
        {
            // Already so: nothing written, nothing audited.
            saved = await FindAsync(connection, projectId, key, ct);
            return saved is null ? Problems.NotFound("No feature toggle with that key is defined.") : TypedResults.Ok(saved);
        }

        await session.CommitAsync(ct);
        cache.Invalidate(tenants.Required.SchemaName);
        return created ? TypedResults.Created($"/projects/{projectId}/features/{key}", saved) : TypedResults.Ok(saved);
    }

    private static async Task<Results<NoContent, ProblemHttpResult, ValidationProblem>> DeleteAsync(
        Guid projectId, string key, [FromServices] IProjectLookup projects, TenantDatabase database, TenantContext tenants, ToggleCache cache, CancellationToken ct)
    {
        if (!ToggleKey.IsValid(key))
        {
            return Problems.Validation("key", ToggleKey.Message);
        }

        if (!await projects.ExistsAsync(projectId, ct))
        {
            return ProjectNotFound();
        }

        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        await using var command = new NpgsqlCommand("DELETE FROM feature_overrides WHERE project_id = $1 AND key = $2", connection);
        command.Parameters.AddWithValue(projectId);
        command.Parameters.AddWithValue(key);
        if (await command.ExecuteNonQueryAsync(ct) == 0)
        {
            return Problems.NotFound("The project has no override for that key.");
        }

        await session.CommitAsync(ct);
        cache.Invalidate(tenants.Required.SchemaName);
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult ProjectNotFound() => Problems.NotFound("No project with that id.");

    private static async Task<OverrideResponse?> FindAsync(NpgsqlConnection connection, Guid projectId, string key, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM feature_overrides WHERE project_id = $1 AND key = $2", connection);
        command.Parameters.AddWithValue(projectId);
        command.Parameters.AddWithValue(key);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    private static OverrideResponse Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetString(1),
        reader.GetBoolean(2),
        reader.GetFieldValue<DateTimeOffset>(3),
        new Actor(reader.IsDBNull(4) ? null : reader.GetGuid(4), reader.IsDBNull(5) ? null : reader.GetString(5)),
        reader.GetFieldValue<DateTimeOffset>(6),
        new Actor(reader.IsDBNull(7) ? null : reader.GetGuid(7), reader.IsDBNull(8) ? null : reader.GetString(8)));
}
