using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Preconditions;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Resolution;
using Monolith.Toggles.Evaluation;
using Npgsql;
using Monolith.SharedKernel.Http.OpenApi;

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

    private const string Columns =
        "key, description, enabled, rollout_percent, created_at, created_by_id, created_by, updated_at, updated_by_id, updated_by, revision, " +
        "(SELECT u.last_evaluated_at FROM feature_toggle_usage u WHERE u.key = feature_toggles.key)";

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
        string? limit, string? cursor, string? staleForDays, HttpRequest request, TenantDatabase database, CancellationToken ct)
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

        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        await using var command = new NpgsqlCommand(
            $"""
             SELECT {Columns} FROM feature_toggles
             WHERE ($1::text IS NULL OR key COLLATE "C" > $1)
               AND ($3::int IS NULL OR GREATEST(updated_at, COALESCE((SELECT u.last_evaluated_at FROM feature_toggle_usage u WHERE u.key = feature_toggles.key), '-infinity'))
                                       < now() - make_interval(days => $3))
             ORDER BY key COLLATE "C" LIMIT $2
             """, connection);
        command.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)position?.After ?? DBNull.Value);
        command.Parameters.AddWithValue(page.ReadCount);
        command.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Integer, (object?)stale ?? DBNull.Value);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var items = new List<DefinitionResponse>();
        while (await reader.ReadAsync(ct))
        {
            items.Add(Read(reader).Response);
        }

        return TypedResults.Ok(page.ToPage(items, item => new ListPosition(item.Key)));
    }

    private static async Task<Results<Ok<DefinitionResponse>, ProblemHttpResult, ValidationProblem>> GetAsync(
        string key, HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        if (!ToggleKey.IsValid(key))
        {
            return Problems.Validation("key", ToggleKey.Message);
        }

        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        var current = await FindAsync(connection, null, key, forUpdate: false, ct);
        if (current is null)
        {
            return Problems.NotFound("No feature toggle with that key is defined.");
        }

        http.Response.Headers.ETag = current.Value.ETag;
        return TypedResults.Ok(current.Value.Response);
    }

    private static async Task<Results<Ok<DefinitionResponse>, Created<DefinitionResponse>, ProblemHttpResult, ValidationProblem>> PutAsync(
        string key, DefinitionRequest request, HttpContext http, TenantDatabase database, TenantContext tenants, ToggleCache cache, CancellationToken ct)
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
        await using var session = await database.BeginAsync(ct);
        var (connection, transaction) = (session.Connection, session.Transaction);
        var current = await FindAsync(connection, transaction, key, forUpdate: true, ct);
        if (!IfMatch.Allows(http.Request, current?.ETag))
        {
            return Problems.PreconditionFailed();
        }

        if (current is { } unchanged && unchanged.Response.Description == description && unchanged.Response.Enabled == request.Enabled
            && unchanged.Response.RolloutPercent == request.RolloutPercent)
        {
            await transaction.CommitAsync(ct);
            http.Response.Headers.ETag = unchanged.ETag;
            return TypedResults.Ok(unchanged.Response);
        }

        await using var command = new NpgsqlCommand(
            current is null
                ? $"INSERT INTO feature_toggles (key, description, enabled, rollout_percent) VALUES ($1, $2, $3, $4) RETURNING {Columns}"
                : $"""
                   UPDATE feature_toggles SET description = $2, enabled = $3, rollout_percent = $4, revision = revision + 1, updated_at = now(),
                          updated_by_id = nullif(current_setting('monolith.actor_id', true), '')::uuid,
                          updated_by = nullif(current_setting('monolith.actor_email', true), '')
                   WHERE key = $1 RETURNING {Columns}
                   """,
            connection, transaction);
        command.Parameters.AddWithValue(key);
        command.Parameters.AddWithValue(description);
        command.Parameters.AddWithValue(request.Enabled!.Value);
        command.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Smallint, request.RolloutPercent is { } p ? (short)p : DBNull.Value);
        (DefinitionResponse Response, string ETag) saved;
        try
        {
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            saved = Read(reader);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Problems.Conflict("feature-exists", "The toggle was defined concurrently; read it and retry.");
        }

        await transaction.CommitAsync(ct);
        cache.Invalidate(tenants.Required.SchemaName);
        http.Response.Headers.ETag = saved.ETag;
        return current is null
            ? TypedResults.Created($"/features/{key}", saved.Response)
            : TypedResults.Ok(saved.Response);
    }

    private static async Task<Results<NoContent, ProblemHttpResult, ValidationProblem>> DeleteAsync(
        string key, HttpContext http, TenantDatabase database, TenantContext tenants, ToggleCache cache, CancellationToken ct)
    {
        if (!ToggleKey.IsValid(key))
        {
            return Problems.Validation("key", ToggleKey.Message);
        }

        await using var session = await database.BeginAsync(ct);
        var (connection, transaction) = (session.Connection, session.Transaction);
        var current = await FindAsync(connection, transaction, key, forUpdate: true, ct);
        if (current is null)
        {
            return IfMatch.IsPresent(http.Request) ? Problems.PreconditionFailed() : Problems.NotFound("No feature toggle with that key is defined.");
        }

        if (!IfMatch.Allows(http.Request, current.Value.ETag))
        {
            return Problems.PreconditionFailed();
        }

        // The overrides go with it (ON DELETE CASCADE), each in the audit trail.
        await using var command = new NpgsqlCommand("DELETE FROM feature_toggles WHERE key = $1", connection, transaction);
        command.Parameters.AddWithValue(key);
        await command.ExecuteNonQueryAsync(ct);
        await transaction.CommitAsync(ct);
        cache.Invalidate(tenants.Required.SchemaName);
        return TypedResults.NoContent();
    }

    private static async Task<(DefinitionResponse Response, string ETag)?> FindAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string key, bool forUpdate, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT {Columns} FROM feature_toggles WHERE key = $1{(forUpdate ? " FOR UPDATE" : string.Empty)}", connection, transaction);
        command.Parameters.AddWithValue(key);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    private static (DefinitionResponse Response, string ETag) Read(NpgsqlDataReader reader)
    {
        var createdAt = reader.GetFieldValue<DateTimeOffset>(4);
        var updatedAt = reader.GetFieldValue<DateTimeOffset>(7);
        var response = new DefinitionResponse(
            reader.GetString(0),
            reader.GetString(1),
            reader.GetBoolean(2),
            reader.IsDBNull(3) ? null : reader.GetInt16(3),
            createdAt,
            new Actor(reader.IsDBNull(5) ? null : reader.GetGuid(5), reader.IsDBNull(6) ? null : reader.GetString(6)),
            updatedAt,
            new Actor(reader.IsDBNull(8) ? null : reader.GetGuid(8), reader.IsDBNull(9) ? null : reader.GetString(9)),
            reader.IsDBNull(11) ? null : reader.GetFieldValue<DateTimeOffset>(11));
        // Revision plus creation time: a toggle deleted and defined again never repeats an old ETag.
        var etag = string.Create(CultureInfo.InvariantCulture, $"\"{reader.GetInt32(10)}-{createdAt.ToUnixTimeMilliseconds()}\"");
        return (response, etag);
    }
}
