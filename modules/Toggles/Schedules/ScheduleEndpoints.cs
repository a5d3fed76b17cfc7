using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Resolution;
using Monolith.Toggles.Definitions;
using Npgsql;
using Monolith.SharedKernel.Http.OpenApi;

namespace Monolith.Toggles.Schedules;

internal sealed record ScheduleRequest(DateTimeOffset? At, bool? Enabled);

internal sealed record ScheduleResponse(Guid Id, string Key, DateTimeOffset At, bool Enabled, DateTimeOffset CreatedAt, Actor CreatedBy);

/// <summary>
/// Scheduled changes of a tenant toggle (<c>/features/{key}/schedule</c>): at <c>at</c>, the toggle's
/// <c>enabled</c> becomes the scheduled value. Viewers read, admins change; applied by <see cref="ToggleScheduler"/>.
/// </summary>
internal static class ScheduleEndpoints
{
    private const string Columns = "id, key, at, enabled, created_at, created_by_id, created_by";

    public static void Map(IEndpointRouteBuilder app)
    {
        var schedule = app.MapGroup("/features/{key}/schedule").RequireTenant().RequireAuthorization(Policies.Viewer).WithTags("Feature toggles");
        schedule.MapGet("/", ListAsync).ProducesNotFound().AcceptsPaging();
        schedule.MapPost("/", CreateAsync).RequireAuthorization(Policies.Admin).ProducesNotFound()
            .ProducesProblems(StatusCodes.Status409Conflict, "too-many-schedules");
        schedule.MapDelete("/{id:guid}", DeleteAsync).RequireAuthorization(Policies.Admin).ProducesNotFound();
    }

    private static async Task<Results<Ok<Page<ScheduleResponse>>, ProblemHttpResult, ValidationProblem>> ListAsync(
        string key, HttpRequest request, TenantDatabase database, CancellationToken ct)
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

        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        if (!await DefinedAsync(connection, null, key, ct))
        {
            return Problems.NotFound("No feature toggle with that key is defined.");
        }

        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM feature_schedules WHERE key = $1 ORDER BY at, id", connection);
        command.Parameters.AddWithValue(key);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var items = new List<ScheduleResponse>();
        while (await reader.ReadAsync(ct))
        {
            items.Add(Read(reader));
        }

        // At most MaxSchedulesPerToggle items: one page.
        return TypedResults.Ok(new Page<ScheduleResponse>(items, null));
    }

    private static async Task<Results<Created<ScheduleResponse>, ProblemHttpResult, ValidationProblem>> CreateAsync(
        string key, ScheduleRequest request, TenantDatabase database, TimeProvider time, IOptions<TogglesOptions> options, CancellationToken ct)
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

        await using var session = await database.BeginAsync(ct);
        var (connection, transaction) = (session.Connection, session.Transaction);
        if (!await DefinedAsync(connection, transaction, key, ct, forUpdate: true))
        {
            return Problems.NotFound("No feature toggle with that key is defined.");
        }

        await using (var count = new NpgsqlCommand("SELECT count(*) FROM feature_schedules WHERE key = $1", connection, transaction))
        {
            count.Parameters.AddWithValue(key);
            if ((long)(await count.ExecuteScalarAsync(ct))! >= options.Value.MaxSchedulesPerToggle)
            {
                return Problems.Conflict("too-many-schedules", $"A toggle may have at most {options.Value.MaxSchedulesPerToggle} pending scheduled changes.");
            }
        }

        await using var command = new NpgsqlCommand(
            $"INSERT INTO feature_schedules (id, key, at, enabled) VALUES ($1, $2, $3, $4) RETURNING {Columns}", connection, transaction);
        command.Parameters.AddWithValue(Guid.CreateVersion7());
        command.Parameters.AddWithValue(key);
        command.Parameters.AddWithValue(request.At!.Value.ToUniversalTime());
        command.Parameters.AddWithValue(request.Enabled!.Value);
        ScheduleResponse created;
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            created = Read(reader);
        }

        await transaction.CommitAsync(ct);
        return TypedResults.Created($"/features/{key}/schedule/{created.Id}", created);
    }

    private static async Task<Results<NoContent, ProblemHttpResult, ValidationProblem>> DeleteAsync(
        string key, Guid id, TenantDatabase database, CancellationToken ct)
    {
        if (!ToggleKey.IsValid(key))
        {
            return Problems.Validation("key", ToggleKey.Message);
        }

        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        await using var command = new NpgsqlCommand("DELETE FROM feature_schedules WHERE key = $1 AND id = $2", connection);
        command.Parameters.AddWithValue(key);
        command.Parameters.AddWithValue(id);
        if (await command.ExecuteNonQueryAsync(ct) == 0)
        {
            return Problems.NotFound("No pending scheduled change with that id for that toggle.");
        }

        await session.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    private static async Task<bool> DefinedAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string key, CancellationToken ct, bool forUpdate = false)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT 1 FROM feature_toggles WHERE key = $1{(forUpdate ? " FOR UPDATE" : string.Empty)}", connection, transaction);
        command.Parameters.AddWithValue(key);
        return await command.ExecuteScalarAsync(ct) is not null;
    }

    private static ScheduleResponse Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetString(1),
        reader.GetFieldValue<DateTimeOffset>(2),
        reader.GetBoolean(3),
        reader.GetFieldValue<DateTimeOffset>(4),
        new Actor(reader.IsDBNull(5) ? null : reader.GetGuid(5), reader.IsDBNull(6) ? null : reader.GetString(6)));
}
