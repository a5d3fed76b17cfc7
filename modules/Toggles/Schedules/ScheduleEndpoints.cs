using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Http.OpenApi;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Resolution;
using Monolith.Toggles.Data;
using Monolith.Toggles.Definitions;

namespace Monolith.Toggles.Schedules;

internal sealed record ScheduleRequest(DateTimeOffset? At, bool? Enabled);

internal sealed record ScheduleResponse(Guid Id, string Key, DateTimeOffset At, bool Enabled, DateTimeOffset CreatedAt, Actor CreatedBy);

/// <summary>
/// Scheduled changes of a tenant toggle (<c>/features/{key}/schedule</c>): at <c>at</c>, the toggle's
/// <c>enabled</c> becomes the scheduled value. Viewers read, admins change; applied by <see cref="ToggleScheduler"/>.
/// </summary>
internal static class ScheduleEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var schedule = app.MapGroup("/features/{key}/schedule").RequireTenant().RequireAuthorization(Policies.Viewer).WithTags("Feature toggles");
        schedule.MapGet("/", ListAsync).ProducesNotFound().AcceptsPaging();
        schedule.MapPost("/", CreateAsync).RequireAuthorization(Policies.Admin).ProducesNotFound()
            .ProducesProblems(StatusCodes.Status409Conflict, "too-many-schedules");
        schedule.MapDelete("/{id:guid}", DeleteAsync).RequireAuthorization(Policies.Admin).ProducesNotFound();
    }

    private static async Task<Results<Ok<Page<ScheduleResponse>>, ProblemHttpResult, ValidationProblem>> ListAsync(
        string key, HttpRequest request, TogglesDatabase database, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (!ToggleKey.IsValid(key))
        {
            errors.Add("key", ToggleKey.Message);
        }

        // One page always (at most MaxSchedulesPerToggle items): limit and cursor are accepted and have nothing to do.
        ListQuery.RejectUnknownParameters(request, errors, "limit", "cursor");
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        await using var work = await database.BeginAsync(ct);
        if (!await work.Db.Toggles.AnyAsync(t => t.Key == key, ct))
        {
            return Problems.NotFound("No feature toggle with that key is defined.");
        }

        var schedules = await work.Db.Schedules.Where(s => s.Key == key).OrderBy(s => s.At).ThenBy(s => s.Id).ToListAsync(ct);
        var items = schedules.Select(Response).ToList();

        // At most MaxSchedulesPerToggle items: one page.
        return TypedResults.Ok(new Page<ScheduleResponse>(items, null));
    }

    private static async Task<Results<Created<ScheduleResponse>, ProblemHttpResult, ValidationProblem>> CreateAsync(
        string key, ScheduleRequest request, TogglesDatabase database, TimeProvider time, IOptions<TogglesOptions> options, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (!ToggleKey.IsValid(key))
        {
            errors.Add("key", ToggleKey.Message);
        }

        if (request.At is null)
        {
            errors.Add("at", "at is required (an ISO-8601 time in the future).");
        }
        else if (request.At <= time.GetUtcNow())
        {
            errors.Add("at", "at must be in the future.");
        }

        if (request.Enabled is null)
        {
            errors.Add("enabled", "enabled is required (true or false).");
        }

        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        await using var work = await database.BeginAsync(ct);
        // The definition locked (SQL: EF has no FOR UPDATE), so that concurrent creations count one another.
        if (await work.Db.Toggles.FromSql($"SELECT * FROM feature_toggles WHERE key = {key} FOR UPDATE").FirstOrNullAsync(ct) is null)
        {
            return Problems.NotFound("No feature toggle with that key is defined.");
        }

        if (await work.Db.Schedules.CountAsync(s => s.Key == key, ct) >= options.Value.MaxSchedulesPerToggle)
        {
            return Problems.Conflict("too-many-schedules", $"A toggle may have at most {options.Value.MaxSchedulesPerToggle} pending scheduled changes.");
        }

        var schedule = new FeatureSchedule { Id = Guid.CreateVersion7(), Key = key, At = Timestamps.Stored(request.At!.Value), Enabled = request.Enabled!.Value };
        work.Db.Schedules.Add(schedule);
        await work.Db.SaveChangesAsync(ct);
        await work.CommitAsync(ct);
        var created = Response(schedule);
        return TypedResults.Created($"/features/{key}/schedule/{created.Id}", created);
    }

    private static async Task<Results<NoContent, ProblemHttpResult, ValidationProblem>> DeleteAsync(
        string key, Guid id, TogglesDatabase database, CancellationToken ct)
    {
        if (!ToggleKey.IsValid(key))
        {
            return Problems.Validation("key", ToggleKey.Message);
        }

        await using var work = await database.BeginAsync(ct);
        if (await work.Db.Schedules.Where(s => s.Key == key && s.Id == id).ExecuteDeleteAsync(ct) == 0)
        {
            return Problems.NotFound("No pending scheduled change with that id for that toggle.");
        }

        await work.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    private static ScheduleResponse Response(FeatureSchedule s) =>
        new(s.Id, s.Key, s.At, s.Enabled, s.CreatedAt, new Actor(s.CreatedById, s.CreatedBy));
}
