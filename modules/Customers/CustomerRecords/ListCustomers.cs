using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Customers.Common;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Customers.CustomerRecords;

/// <summary>Where the last page ended, and the query it belongs to (a cursor is refused for another query).</summary>
internal sealed record CustomerCursor(string Sort, string? Status, string? Q, string? Name, DateTime? CreatedAt, Guid Id);

internal sealed record CustomerQuery(string Sort, string? Status, string? Q, CustomerCursor? After, int Limit);

/// <summary>
/// GET /customers?q=&amp;status=&amp;sort=&amp;limit=&amp;cursor=. Keyset pagination on (sort key, id): a page
/// never repeats or skips a row that existed when the walk began, whatever is inserted meanwhile. Each shape of
/// the query is served by an index (see docs/api/customers.md).
/// </summary>
internal static class ListCustomers
{
    public static readonly IReadOnlyList<string> Sorts = ["name", "-name", "createdAt", "-createdAt"];
    public const int MaxQueryLength = 200;

    public static async Task<Results<Ok<Page<CustomerResponse>>, ValidationProblem>> HandleAsync(
        HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        var (query, errors) = Parse(http);
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        var (sql, args) = Build(query!);
        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var arg in args)
        {
            command.With(arg);
        }

        var page = new PageRequest(query!.Limit, null);
        var rows = new List<CustomerResponse>(page.ReadCount);
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                rows.Add(CustomerRow.Read(reader).Customer);
            }
        }

        return TypedResults.Ok(page.ToPage(rows, last => new CustomerCursor(query.Sort, query.Status, query.Q,
            query.Sort.EndsWith("name", StringComparison.Ordinal) ? last.Name : null,
            query.Sort.EndsWith("createdAt", StringComparison.Ordinal) ? last.CreatedAt : null,
            last.Id)));
    }

    internal static (CustomerQuery? Query, ValidationErrors Errors) Parse(HttpContext http)
    {
        var errors = new ValidationErrors();
        var queryString = http.Request.Query;
        ListQuery.RejectUnknownParameters(http.Request, errors, "q", "status", "sort", "limit", "cursor");

        var page = PageRequest.Parse(queryString["limit"].ToString() is { Length: > 0 } l ? l : null, queryString["cursor"], errors);

        var sort = queryString["sort"].ToString() is { Length: > 0 } s ? s : "createdAt";
        if (!Sorts.Contains(sort, StringComparer.Ordinal))
        {
            errors.Add("sort", $"sort must be one of: {string.Join(", ", Sorts)}.");
        }

        var status = queryString["status"].ToString() is { Length: > 0 } st ? st : null;
        Rules.OneOf(errors, "status", status, Rules.CustomerStatuses, required: false);

        var q = queryString["q"].ToString() is { Length: > 0 } qs ? qs : null;
        if (q is not null)
        {
            Rules.Text(errors, "q", q, MaxQueryLength, required: false);
        }

        CustomerCursor? after = null;
        if (page.Cursor is not null)
        {
            if (!Cursor.TryDecode(page.Cursor, out after)
                || after!.Sort != sort || after.Status != status || after.Q != q
                || (sort.EndsWith("name", StringComparison.Ordinal) ? after.Name is null : after.CreatedAt is null))
            {
                errors.Add("cursor", Cursor.InvalidMessage + " (A cursor belongs to the q, status and sort it was issued for.)");
            }
        }

        return errors.Any ? (null, errors) : (new CustomerQuery(sort, status, q, after, page.Limit), errors);
    }

    /// <summary>The SQL for one shape of the list, from fixed fragments only; every value is a parameter.</summary>
    internal static (string Sql, List<object> Args) Build(CustomerQuery query)
    {
        var args = new List<object>();
        string P(object value)
        {
            args.Add(value);
            return "$" + args.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var conditions = new List<string>();
        if (query.Status is not null)
        {
            conditions.Add($"status = {P(query.Status)}");
        }

        if (query.Q is not null)
        {
            var pattern = P(Sql.ContainsPattern(query.Q));
            conditions.Add($"(name ILIKE {pattern} OR email ILIKE {pattern})");
        }

        var byName = query.Sort.EndsWith("name", StringComparison.Ordinal);
        var descending = query.Sort.StartsWith('-');
        var column = byName ? "name" : "created_at";
        if (query.After is { } after)
        {
            object key = byName ? after.Name! : DateTime.SpecifyKind(after.CreatedAt!.Value, DateTimeKind.Utc);
            conditions.Add($"({column}, id) {(descending ? "<" : ">")} ({P(key)}, {P(after.Id)})");
        }

        var direction = descending ? "DESC" : "ASC";
        var where = conditions.Count > 0 ? " WHERE " + string.Join(" AND ", conditions) : "";
        return ($"SELECT {CustomerRow.Columns} FROM customers{where} ORDER BY {column} {direction}, id {direction} LIMIT {P(new PageRequest(query.Limit, null).ReadCount)}", args);
    }
}
