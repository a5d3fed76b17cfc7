using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Http.OpenApi;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Preconditions;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Resolution;
using Monolith.Toggles.Data;
using Monolith.Toggles.Evaluation;
using Npgsql;

namespace Monolith.Toggles.Definitions;

internal sealed record DefinitionRequest(string? Description, bool? Enabled, int? RolloutPercent);

internal sealed record Actor(Guid? Id, string? Email);

internal sealed record DefinitionResponse(
    string Key,
    string Description,
    bool Enabled,
    int? RolloutPercent,
    DateTimeOffset CreatedAt,
    Actor CreatedBy,
    DateTimeOffset UpdatedAt,
    Actor UpdatedBy,
    DateTimeOffset? LastEvaluatedAt);

/// <summary>Tenant-level definitions: <c>GET /features</c>, <c>GET/PUT/DELETE /features/{key}</c>. Viewers read, admins change.</summary>
internal static class DefinitionEndpoints
{
    public const int MaxDescription = 1000;

    public const int MaxStaleDays = 3650;

    public static void Map(IEndpointRouteBuilder app)
    {
        var features = app.MapGroup("/features").RequireTenant().RequireAuthorization(Policies.Viewer).WithTags("Feature toggles");
        features.MapGet("/", ListAsync);
        features.MapGet("/{key}", GetAsync).ProducesNotFound();
        features.MapPut("/{key}", PutAsync).RequireAuthorization(Policies.Admin).ProducesPreconditionFailed()
            .ProducesProblems(StatusCodes.Status409Conflict, "feature-exists");
        features.MapDelete("/{key}", DeleteAsync).RequireAuthorization(Policies.Admin).ProducesNotFound().ProducesPreconditionFailed();
    }

    private sealed record ListPosition(string After);

    private static async Task<Results<Ok<Page<DefinitionResponse>>, ValidationProblem>> ListAsync(
        string? limit, string? cursor, string? staleForDays, HttpRequest request, TogglesDatabase database, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ListQuery.RejectUnknownParameters(request, errors, "limit", "cursor", "staleForDays");
        var page = PageRequest.Parse(limit, cursor, errors);
        int? stale = null;
        if (staleForDays is not null)
        {
            if (int.TryParse(staleForDays, NumberStyles.None, CultureInfo.InvariantCulture, out var days) && days is >= 1 and <= MaxStaleDays)
            {
                stale = days;
            }
            else
            {
                errors.Add("staleForDays", $"staleForDays must be a whole number of days from 1 to {MaxStaleDays}.");
            }
        }

        ListPosition? position = null;
        if (page.Cursor is not null && !Cursor.TryDecode(page.Cursor, out position))
        {
            errors.Add("cursor", Cursor.InvalidMessage);
        }

        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        // A keyset page in SQL (EF has no COLLATE "C" comparison), read as written.
        await using var work = await database.BeginAsync(ct);
        var after = position?.After;
        var rows = await work.Db.DefinitionRows.FromSql(
            $"""
             SELECT t.*, u.last_evaluated_at FROM feature_toggles t LEFT JOIN feature_toggle_usage u ON u.key = t.key
             WHERE ({after}::text IS NULL OR t.key COLLATE "C" > {after}::text)
               AND ({stale}::int IS NULL OR GREATEST(t.updated_at, COALESCE(u.last_evaluated_at, '-infinity')) < now() - make_interval(days => {stale}::int))
             ORDER BY t.key COLLATE "C" LIMIT {page.ReadCount}
             """).ListAsync(ct);
        var items = rows.Select(r => new DefinitionResponse(
            r.Key, r.Description, r.Enabled, r.RolloutPercent, r.CreatedAt, new Actor(r.CreatedById, r.CreatedBy), r.UpdatedAt,
            new Actor(r.UpdatedById, r.UpdatedBy), r.LastEvaluatedAt)).ToList();

        return TypedResults.Ok(page.ToPage(items, item => new ListPosition(item.Key)));
    }

    private static async Task<Results<Ok<DefinitionResponse>, ProblemHttpResult, ValidationProblem>> GetAsync(
        string key, HttpContext http, TogglesDatabase database, CancellationToken ct)
    {
        if (!ToggleKey.IsValid(key))
        {
            return Problems.Validation("key", ToggleKey.Message);
        }

        await using var work = await database.BeginAsync(ct);
        var found = await work.Db.Toggles
            .Where(t => t.Key == key)
            .Select(t => new { Toggle = t, LastEvaluatedAt = work.Db.Usage.Where(u => u.Key == t.Key).Select(u => (DateTimeOffset?)u.LastEvaluatedAt).FirstOrDefault() })
            .FirstOrDefaultAsync(ct);
        if (found is null)
        {
            return Problems.NotFound("No feature toggle with that key is defined.");
        }

        http.Response.Headers.ETag = ETagOf(found.Toggle);
        return TypedResults.Ok(Response(found.Toggle, found.LastEvaluatedAt));
    }

    private static async Task<Results<Ok<DefinitionResponse>, Created<DefinitionResponse>, ProblemHttpResult, ValidationProblem>> PutAsync(
        string key, DefinitionRequest request, HttpContext http, TogglesDatabase database, TenantContext tenants, ToggleCache cache, CancellationToken ct)
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

        if (request.Description is { Length: > MaxDescription })
        {
            errors.Add("description", $"description must be at most {MaxDescription} characters.");
        }

        if (request.RolloutPercent is < 0 or > 100)
        {
            errors.Add("rolloutPercent", "rolloutPercent must be a whole number from 0 to 100, or null for no rollout.");
        }

        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        var description = request.Description ?? string.Empty;
        await using var work = await database.BeginAsync(ct);
        var current = await LockedAsync(work.Db, key, ct);
        if (!IfMatch.Allows(http.Request, current is null ? null : ETagOf(current)))
        {
            return Problems.PreconditionFailed();
        }

        if (current is not null && current.Description == description && current.Enabled == request.Enabled
            && current.RolloutPercent == request.RolloutPercent)
        {
            var lastEvaluatedAt = await LastEvaluatedAtAsync(work.Db, key, ct);
            await work.CommitAsync(ct);
            http.Response.Headers.ETag = ETagOf(current);
            return TypedResults.Ok(Response(current, lastEvaluatedAt));
        }

        var saved = current ?? work.Db.Toggles.Add(new FeatureToggle { Key = key, Description = description }).Entity;
        saved.Description = description;
        saved.Enabled = request.Enabled!.Value;
        saved.RolloutPercent = (short?)request.RolloutPercent;
        if (current is not null)
        {
            // The row is locked: the next revision is this one's plus one.
            saved.Revision++;
            saved.UpdatedAt = Timestamps.Now();
            (saved.UpdatedById, saved.UpdatedBy) = Actors.Current();
        }

        try
        {
            await work.Db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            return Problems.Conflict("feature-exists", "The toggle was defined concurrently; read it and retry.");
        }

        var evaluatedAt = current is null ? null : await LastEvaluatedAtAsync(work.Db, key, ct);
        await work.CommitAsync(ct);
        cache.Invalidate(tenants.Required.SchemaName);
        http.Response.Headers.ETag = ETagOf(saved);
        return current is null
            ? TypedResults.Created($"/features/{key}", Response(saved, evaluatedAt))
            : TypedResults.Ok(Response(saved, evaluatedAt));
    }

    private static async Task<Results<NoContent, ProblemHttpResult, ValidationProblem>> DeleteAsync(
        string key, HttpContext http, TogglesDatabase database, TenantContext tenants, ToggleCache cache, CancellationToken ct)
    {
        if (!ToggleKey.IsValid(key))
        {
            return Problems.Validation("key", ToggleKey.Message);
        }

        await using var work = await database.BeginAsync(ct);
        var current = await LockedAsync(work.Db, key, ct);
        if (current is null)
        {
            return IfMatch.IsPresent(http.Request) ? Problems.PreconditionFailed() : Problems.NotFound("No feature toggle with that key is defined.");
        }

        if (!IfMatch.Allows(http.Request, ETagOf(current)))
        {
            return Problems.PreconditionFailed();
        }

        // The overrides go with it (ON DELETE CASCADE), each in the audit trail.
        await work.Db.Toggles.Where(t => t.Key == key).ExecuteDeleteAsync(ct);
        await work.CommitAsync(ct);
        cache.Invalidate(tenants.Required.SchemaName);
        return TypedResults.NoContent();
    }

    /// <summary>The definition locked for a change (SQL: EF has no FOR UPDATE), tracked so that SaveChanges writes only what changed.</summary>
    private static Task<FeatureToggle?> LockedAsync(TogglesDbContext db, string key, CancellationToken ct) =>
        db.Toggles.FromSql($"SELECT * FROM feature_toggles WHERE key = {key} FOR UPDATE").AsTracking().FirstOrNullAsync(ct);

    private static Task<DateTimeOffset?> LastEvaluatedAtAsync(TogglesDbContext db, string key, CancellationToken ct) =>
        db.Usage.Where(u => u.Key == key).Select(u => (DateTimeOffset?)u.LastEvaluatedAt).FirstOrDefaultAsync(ct);

    private static DefinitionResponse Response(FeatureToggle toggle, DateTimeOffset? lastEvaluatedAt) => new(
        toggle.Key,
        toggle.Description,
        toggle.Enabled,
        toggle.RolloutPercent,
        toggle.CreatedAt,
        new Actor(toggle.CreatedById, toggle.CreatedBy),
        toggle.UpdatedAt,
        new Actor(toggle.UpdatedById, toggle.UpdatedBy),
        lastEvaluatedAt);

    /// <summary>Revision plus creation time: a toggle deleted and defined again never repeats an old ETag.</summary>
    private static string ETagOf(FeatureToggle toggle) =>
        string.Create(CultureInfo.InvariantCulture, $"\"{toggle.Revision}-{toggle.CreatedAt.ToUnixTimeMilliseconds()}\"");
}
