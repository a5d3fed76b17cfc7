using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Auditing.Data;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;

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
        HttpRequest request, AuditingDatabase database, CancellationToken ct)
    {
        var query = request.Query;
        var errors = new ValidationErrors();
        var page = PageRequest.Parse(Single(query, "limit"), Single(query, "cursor"), errors);

        var entityType = Single(query, "entityType");
        if (entityType is { Length: 0 or > 100 })
        {
            errors.Add("entityType", "entityType must be 1 to 100 characters.");
        }

        var entityId = Single(query, "entityId");
        if (entityId is { Length: 0 or > 200 })
        {
            errors.Add("entityId", "entityId must be 1 to 200 characters.");
        }

        var action = Single(query, "action");
        if (action is not null && !Actions.Contains(action, StringComparer.Ordinal))
        {
            errors.Add("action", "action must be one of: create, update, delete.");
        }

        Guid? actorId = null;
        if (Single(query, "actorId") is { } actorText)
        {
            if (Guid.TryParse(actorText, out var parsed))
            {
                actorId = parsed;
            }
            else
            {
                errors.Add("actorId", "actorId must be a UUID.");
            }
        }

        var from = Time(query, "from", errors);
        var to = Time(query, "to", errors);
        if (from is not null && to is not null && from > to)
        {
            errors.Add("to", "to must not be before from.");
        }

        long? before = null;
        if (page.Cursor is not null)
        {
            if (Cursor.TryDecode<Position>(page.Cursor, out var position) && position!.S > 0)
            {
                before = position.S;
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

        await using var reading = await database.ReadAsync(ct);
        IQueryable<AuditEvent> records = reading.Db.Events;
        if (entityType is not null)
        {
            records = records.Where(e => e.EntityType == entityType);
        }

        if (entityId is not null)
        {
            records = records.Where(e => e.EntityId == entityId);
        }

        if (action is not null)
        {
            records = records.Where(e => e.Action == action);
        }

        if (actorId is not null)
        {
            records = records.Where(e => e.ActorId == actorId);
        }

        if (from is { } fromValue)
        {
            var fromUtc = fromValue.ToUniversalTime();
            records = records.Where(e => e.OccurredAt >= fromUtc);
        }

        if (to is { } toValue)
        {
            var toUtc = toValue.ToUniversalTime();
            records = records.Where(e => e.OccurredAt < toUtc);
        }

        if (before is { } seq)
        {
            records = records.Where(e => e.Seq < seq);
        }

        var rows = await records
            .OrderByDescending(e => e.Seq)
            .Take(page.ReadCount)
            .Select(e => new AuditRow(e.Seq, e.Id, e.OccurredAt, e.Action, e.EntityType, e.EntityId, e.ActorKind, e.ActorId, e.ActorEmail,
                AuditingDbContext.AuditChanges(e.Changes), e.RequestId))
            .ToListAsync(ct);

        return TypedResults.Ok(page.ToPage(rows, row => new Position(row.Seq)).Select(Response));
    }

    private static readonly string[] Known = ["entityType", "entityId", "action", "actorId", "from", "to", "limit", "cursor"];

    private sealed record AuditRow(
        long Seq, Guid Id, DateTimeOffset OccurredAt, string Action, string EntityType, string EntityId, string ActorKind, Guid? ActorId,
        string? ActorEmail, string Changes, string? RequestId);

    private static AuditEventResponse Response(AuditRow row)
    {
        // The session carries the user's e-mail for users and a name ("cli", the job's name) for everyone else.
        var actor = row.ActorKind == ActorKinds.User
            ? new AuditActor(row.ActorId, row.ActorEmail, row.ActorKind, null)
            : new AuditActor(row.ActorId, null, row.ActorKind, row.ActorEmail ?? row.ActorKind);
        return new AuditEventResponse(row.Id, row.OccurredAt, row.Action, row.EntityType, row.EntityId, actor, Changes(row.Changes), row.RequestId);
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

    private static string? Single(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var values) ? values.ToString() : null;

    private static DateTimeOffset? Time(IQueryCollection query, string name, ValidationErrors errors) =>
        ListQuery.Time(Single(query, name), name, errors);
}
