using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Auditing.Trail;

/// <summary>
/// Who made a change. <c>kind</c> is "user" (then <c>id</c> and <c>email</c> are the user's), or "cli", "job",
/// "platform", "anonymous" or "database" (a change made outside the application); for those <c>id</c> and
/// <c>email</c> are null and <c>name</c> says which command or job it was.
/// </summary>
internal sealed record AuditActor(Guid? Id, string? Email, string Kind, string? Name);

internal sealed record AuditEventResponse(
    Guid Id,
    DateTimeOffset OccurredAt,
    string Action,
    string EntityType,
    string EntityId,
    AuditActor Actor,
    JsonObject Changes,
    string? RequestId);

/// <summary><c>GET /audit-events</c>: the tenant's trail, newest first, keyset-paged by the chain's sequence.</summary>
internal static class ListAuditEvents
{
    private static readonly string[] Actions = ["create", "update", "delete"];

    internal sealed record Position(long S);

    public static async Task<Results<Ok<Page<AuditEventResponse>>, ValidationProblem>> HandleAsync(
        HttpRequest request, TenantDatabase database, CancellationToken ct)
    {
        var query = request.Query;
        var errors = new ValidationErrors();
        var page = PageRequest.Parse(Single(query, "limit"), Single(query, "cursor"), errors);

        var where = new List<string>();
        var parameters = new List<object>();

        if (Single(query, "entityType") is { } entityType)
        {
            if (entityType.Length is 0 or > 100)
            {
                errors.Add("entityType", "entityType must be 1 to 100 characters.");
            }

            where.Add($"entity_type = ${Add(parameters, entityType)}");
        }

        if (Single(query, "entityId") is { } entityId)
        {
            if (entityId.Length is 0 or > 200)
            {
                errors.Add("entityId", "entityId must be 1 to 200 characters.");
            }

            where.Add($"entity_id = ${Add(parameters, entityId)}");
        }

        if (Single(query, "action") is { } action)
        {
            if (!Actions.Contains(action, StringComparer.Ordinal))
            {
                errors.Add("action", "action must be one of: create, update, delete.");
            }

            where.Add($"action = ${Add(parameters, action)}");
        }

        if (Single(query, "actorId") is { } actorText)
        {
            if (!Guid.TryParse(actorText, out var actorId))
            {
                errors.Add("actorId", "actorId must be a UUID.");
            }

            where.Add($"actor_id = ${Add(parameters, actorId)}");
        }

        var from = Time(query, "from", errors);
        var to = Time(query, "to", errors);
        if (from is not null && to is not null && from > to)
        {
            errors.Add("to", "to must not be before from.");
        }

        if (from is { } fromValue)
        {
            where.Add($"occurred_at >= ${Add(parameters, fromValue)}");
        }

        if (to is { } toValue)
        {
            where.Add($"occurred_at < ${Add(parameters, toValue)}");
        }

        if (page.Cursor is not null)
        {
            if (Cursor.TryDecode<Position>(page.Cursor, out var position) && position!.S > 0)
            {
                where.Add($"seq < ${Add(parameters, position.S)}");
            }
            else
            {
                errors.Add("cursor", Cursor.InvalidMessage);
            }
        }

        ListQuery.RejectUnknownParameters(request, errors, Known);

        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        var sql = new StringBuilder(
            "SELECT seq, id, occurred_at, action, entity_type, entity_id, actor_kind, actor_id, actor_email, monolith.audit_changes(changes)::text, request_id FROM audit_events");
        if (where.Count > 0)
        {
            sql.Append(" WHERE ").Append(string.Join(" AND ", where));
        }

        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY seq DESC LIMIT {page.ReadCount}");

        await using var session = await database.BeginAsync(ct);
        await using var command = session.Command(sql.ToString());
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        var rows = new List<(long Seq, AuditEventResponse Event)>(page.ReadCount);
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                rows.Add((reader.GetInt64(0), Read(reader)));
            }
        }

        return TypedResults.Ok(page.ToPage(rows, row => new Position(row.Seq)).Select(row => row.Event));
    }

    private static readonly string[] Known = ["entityType", "entityId", "action", "actorId", "from", "to", "limit", "cursor"];

    private static AuditEventResponse Read(NpgsqlDataReader reader)
    {
        var kind = reader.GetString(6);
        var actorId = reader.IsDBNull(7) ? (Guid?)null : reader.GetGuid(7);
        var label = reader.IsDBNull(8) ? null : reader.GetString(8);
        // The session carries the user's e-mail for users and a name ("cli", the job's name) for everyone else.
        var actor = kind == ActorKinds.User
            ? new AuditActor(actorId, label, kind, null)
            : new AuditActor(actorId, null, kind, label ?? kind);
        return new AuditEventResponse(
            reader.GetGuid(1),
            reader.GetFieldValue<DateTimeOffset>(2),
            reader.GetString(3),
            reader.GetString(4),
            reader.GetString(5),
            actor,
            Changes(reader.GetString(9)),
            reader.IsDBNull(10) ? null : reader.GetString(10));
    }

    /// <summary>
    /// The trigger's <c>{column: {old, new}}</c> with column names camelCased; a sensitive column recorded as
    /// <c>{redacted: true}</c> stays so (changed, no values).
    /// </summary>
    internal static JsonObject Changes(string json)
    {
        var source = JsonNode.Parse(json) as JsonObject ?? [];
        var result = new JsonObject();
        foreach (var (column, change) in source)
        {
            result[CamelCase(column)] = change?.DeepClone();
        }

        return result;
    }

    /// <summary><c>password_hash</c> → <c>passwordHash</c>, <c>id</c> → <c>id</c>.</summary>
    internal static string CamelCase(string column)
    {
        var builder = new StringBuilder(column.Length);
        var upper = false;
        foreach (var c in column)
        {
            if (c == '_')
            {
                upper = builder.Length > 0;
                continue;
            }

            builder.Append(upper ? char.ToUpperInvariant(c) : builder.Length == 0 ? char.ToLowerInvariant(c) : c);
            upper = false;
        }

        return builder.Length == 0 ? column : builder.ToString();
    }

    private static int Add(List<object> parameters, object value)
    {
        parameters.Add(value);
        return parameters.Count;
    }

    private static string? Single(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var values) ? values.ToString() : null;

    private static DateTimeOffset? Time(IQueryCollection query, string name, ValidationErrors errors) =>
        ListQuery.Time(Single(query, name), name, errors);
}
