using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy;
using Monolith.Tenancy.Platform;
using Npgsql;
using NpgsqlTypes;

namespace Monolith.Auditing.Logging;

internal sealed record LogEventResponse(
    Guid Id,
    DateTimeOffset Time,
    string Level,
    string Message,
    string Template,
    string? Exception,
    string? Tenant,
    string? UserId,
    string? RequestId,
    JsonElement Properties);

/// <summary>
/// <c>GET /platform/logs?tenant=&amp;level=&amp;from=&amp;to=&amp;q=&amp;limit=&amp;cursor=</c> (CONTRACT §4): application log
/// events newest first, keyset-paged on (time, id). <c>level</c> is a minimum; <c>from</c> is inclusive, <c>to</c>
/// exclusive; <c>q</c> matches the rendered message case-insensitively.
/// </summary>
internal static class ListLogs
{
    public const int MaxQueryLength = 200;

    private static readonly string[] Levels = ["verbose", "debug", "information", "warning", "error", "fatal"];

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGroup("/platform/logs").RequirePlatformKey().WithTags("Platform")
            .MapGet("/", ListAsync);

    internal sealed record Position(DateTimeOffset Time, Guid Id);

    private static async Task<Results<Ok<Page<LogEventResponse>>, ValidationProblem>> ListAsync(
        string? tenant, string? level, string? from, string? to, string? q, string? limit, string? cursor,
        HttpRequest request, PlatformDatabase database, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ListQuery.RejectUnknownParameters(request, errors, "tenant", "level", "from", "to", "q", "limit", "cursor");
        var page = PageRequest.Parse(limit, cursor, errors);

        if (tenant is not null && !TenantIdentifier.IsValid(tenant))
        {
            errors.Add("tenant", "tenant must be a tenant identifier (lowercase letters, digits and '-', 3 to 63 characters).");
        }

        string[]? levels = null;
        if (level is not null)
        {
            var index = Array.IndexOf(Levels, level.ToLowerInvariant());
            if (index < 0)
            {
                errors.Add("level", $"level must be one of: {string.Join(", ", Levels)}.");
            }
            else
            {
                levels = Levels[index..];
            }
        }

        var fromTime = ParseTime(from, "from", errors);
        var toTime = ParseTime(to, "to", errors);
        if (fromTime is not null && toTime is not null && fromTime > toTime)
        {
            errors.Add("to", "to must not be before from.");
        }

        if (q is not null && (q.Length == 0 || q.Length > MaxQueryLength))
        {
            errors.Add("q", $"q must be 1 to {MaxQueryLength} characters.");
        }

        Position? after = null;
        if (page.Cursor is not null && !Cursor.TryDecode(page.Cursor, out after))
        {
            errors.Add("cursor", Cursor.InvalidMessage);
        }

        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        // Only the filters given go into the statement, so the planner prunes partitions on the time bounds.
        var sql = new StringBuilder(
            "SELECT id, time, level, message, template, exception, tenant, user_id, request_id, properties::text FROM logs.events WHERE TRUE");
        await using var command = database.DataSource.CreateCommand();
        if (tenant is not null)
        {
            sql.Append(" AND tenant = @tenant");
            command.Parameters.Add(new NpgsqlParameter("tenant", NpgsqlDbType.Text) { Value = tenant });
        }

        if (levels is not null)
        {
            sql.Append(" AND level = ANY(@levels)");
            command.Parameters.Add(new NpgsqlParameter("levels", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = levels });
        }

        if (fromTime is not null)
        {
            sql.Append(" AND time >= @from");
            command.Parameters.Add(new NpgsqlParameter("from", NpgsqlDbType.TimestampTz) { Value = fromTime.Value });
        }

        if (toTime is not null)
        {
            sql.Append(" AND time < @to");
            command.Parameters.Add(new NpgsqlParameter("to", NpgsqlDbType.TimestampTz) { Value = toTime.Value });
        }

        if (q is not null)
        {
            sql.Append(@" AND message ILIKE @q ESCAPE '\'");
            command.Parameters.Add(new NpgsqlParameter("q", NpgsqlDbType.Text) { Value = "%" + EscapeLike(q) + "%" });
        }

        if (after is not null)
        {
            sql.Append(" AND (time, id) < (@afterTime, @afterId)");
            command.Parameters.Add(new NpgsqlParameter("afterTime", NpgsqlDbType.TimestampTz) { Value = after.Time.ToUniversalTime() });
            command.Parameters.Add(new NpgsqlParameter("afterId", NpgsqlDbType.Uuid) { Value = after.Id });
        }

        sql.Append(" ORDER BY time DESC, id DESC LIMIT @limit");
        command.Parameters.Add(new NpgsqlParameter("limit", NpgsqlDbType.Integer) { Value = page.ReadCount });
        command.CommandText = sql.ToString();

        var items = new List<LogEventResponse>(page.ReadCount);
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                using var properties = JsonDocument.Parse(reader.GetString(9));
                items.Add(new LogEventResponse(
                    reader.GetGuid(0),
                    reader.GetFieldValue<DateTimeOffset>(1),
                    reader.GetString(2),
                    reader.GetString(3),
                    reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5),
                    reader.IsDBNull(6) ? null : reader.GetString(6),
                    reader.IsDBNull(7) ? null : reader.GetString(7),
                    reader.IsDBNull(8) ? null : reader.GetString(8),
                    properties.RootElement.Clone()));
            }
        }

        return TypedResults.Ok(page.ToPage(items, item => new Position(item.Time, item.Id)));
    }

    private static DateTimeOffset? ParseTime(string? value, string field, ValidationErrors errors)
    {
        if (value is null)
        {
            return null;
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed)
            && value.Length >= 10 && char.IsAsciiDigit(value[0]))
        {
            return parsed;
        }

        errors.Add(field, $"{field} must be an ISO-8601 date or time, e.g. 2026-01-31T12:00:00Z.");
        return null;
    }

    private static string EscapeLike(string value) =>
        value.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal);
}
