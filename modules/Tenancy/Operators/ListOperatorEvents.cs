using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Catalog;
using Npgsql;
using NpgsqlTypes;

namespace Monolith.Tenancy.Operators;

internal sealed record OperatorActor(string Kind, string Name);

internal sealed record OperatorEventResponse(
    Guid Id, DateTimeOffset OccurredAt, string Action, string? Tenant, OperatorActor Actor, string? RequestId, string Outcome, string? Detail);

/// <summary>
/// <c>GET /platform/audit-events</c>: the operator trail, newest first, keyset-paged by (time, id). <c>tenant</c> is an
/// identifier; a purged tenant's events stay (and a later tenant under the same identifier shares the filter).
/// </summary>
internal static class ListOperatorEvents
{
    private sealed record Position(DateTimeOffset Time, Guid Id);

    public static async Task<Results<Ok<Page<OperatorEventResponse>>, ValidationProblem>> HandleAsync(
        string? tenant, string? action, string? from, string? to, string? limit, string? cursor, HttpRequest request, PlatformDatabase database,
        CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ListQuery.RejectUnknownParameters(request, errors, "tenant", "action", "from", "to", "limit", "cursor");
        var page = PageRequest.Parse(limit, cursor, errors);
        if (tenant is not null && !TenantIdentifier.IsValid(tenant))
        {
            errors.Add("tenant", "tenant must be a tenant identifier.");
        }

        if (action is not null && !OperatorActions.All.Contains(action, StringComparer.Ordinal))
        {
            errors.Add("action", $"action must be one of: {string.Join(", ", OperatorActions.All)}.");
        }

        var fromTime = ListQuery.Time(from, "from", errors);
        var toTime = ListQuery.Time(to, "to", errors);
        if (fromTime is not null && toTime is not null && fromTime > toTime)
        {
            errors.Add("to", "to must not be before from.");
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

        // Only the filters given go into the statement, so each shape has a plan of its own over the matching index.
        var sql = new StringBuilder(
            "SELECT id, occurred_at, action, tenant, actor_kind, actor_name, request_id, outcome, detail FROM platform.operator_events WHERE TRUE");
        await using var command = database.DataSource.CreateCommand();
        if (tenant is not null)
        {
            sql.Append(" AND tenant = @tenant");
            command.Parameters.Add(new NpgsqlParameter("tenant", NpgsqlDbType.Text) { Value = tenant });
        }

        if (action is not null)
        {
            sql.Append(" AND action = @action");
            command.Parameters.Add(new NpgsqlParameter("action", NpgsqlDbType.Text) { Value = action });
        }

        if (fromTime is not null)
        {
            sql.Append(" AND occurred_at >= @from");
            command.Parameters.Add(new NpgsqlParameter("from", NpgsqlDbType.TimestampTz) { Value = fromTime.Value });
        }

        if (toTime is not null)
        {
            sql.Append(" AND occurred_at < @to");
            command.Parameters.Add(new NpgsqlParameter("to", NpgsqlDbType.TimestampTz) { Value = toTime.Value });
        }

        if (after is not null)
        {
            sql.Append(" AND (occurred_at, id) < (@afterTime, @afterId)");
            command.Parameters.Add(new NpgsqlParameter("afterTime", NpgsqlDbType.TimestampTz) { Value = after.Time.ToUniversalTime() });
            command.Parameters.Add(new NpgsqlParameter("afterId", NpgsqlDbType.Uuid) { Value = after.Id });
        }

        sql.Append(" ORDER BY occurred_at DESC, id DESC LIMIT @limit");
        command.Parameters.Add(new NpgsqlParameter("limit", NpgsqlDbType.Integer) { Value = page.ReadCount });
        command.CommandText = sql.ToString();

        var items = new List<OperatorEventResponse>(page.ReadCount);
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                items.Add(new OperatorEventResponse(
                    reader.GetGuid(0),
                    reader.GetFieldValue<DateTimeOffset>(1),
                    reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    new OperatorActor(reader.GetString(4), reader.GetString(5)),
                    reader.IsDBNull(6) ? null : reader.GetString(6),
                    reader.GetString(7),
                    reader.IsDBNull(8) ? null : reader.GetString(8)));
            }
        }

        return TypedResults.Ok(page.ToPage(items, item => new Position(item.OccurredAt, item.Id)));
    }
}
