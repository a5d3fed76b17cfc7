using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Monolith.Customers.Common;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;

namespace Monolith.Customers.ListCustomers;

/// <summary>Where the last page ended, and the query it belongs to (a cursor is refused for another query).</summary>
internal sealed record CustomerCursor(string Sort, string? Status, string? Q, string? Name, DateTime? CreatedAt, Guid Id);

/// <summary>?q=&amp;status=&amp;sort=&amp;limit=&amp;cursor= of GET /customers, parsed, and the SQL of that shape of the list.</summary>
internal sealed record ListCustomersQuery(string Sort, string? Status, string? Q, CustomerCursor? After, int Limit)
{
    public static readonly IReadOnlyList<string> Sorts = ["name", "-name", "createdAt", "-createdAt"];
    public const int MaxQueryLength = 200;

    public bool ByName => Sort.EndsWith("name", StringComparison.Ordinal);

    public static (ListCustomersQuery? Query, ValidationErrors Errors) Parse(HttpContext http)
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

        return errors.Any ? (null, errors) : (new ListCustomersQuery(sort, status, q, after, page.Limit), errors);
    }

    /// <summary>
    /// The SQL of this shape of the list, from fixed fragments only; every value is a parameter. Hand-written because
    /// EF has no row comparison for the keyset (<c>(name, id) &gt; (…, …)</c>, which the (name, id) index serves) and
    /// no ILIKE that stays on pg_catalog's operator for the trigram indexes (docs/adr/0022).
    /// </summary>
    public FormattableString ToSql()
    {
        var args = new List<object>();
        string P(object value)
        {
            args.Add(value);
            return "{" + (args.Count - 1).ToString(CultureInfo.InvariantCulture) + "}";
        }

        var conditions = new List<string>();
        if (Status is not null)
        {
            conditions.Add($"status = {P(Status)}");
        }

        if (Q is not null)
        {
            var pattern = P(Sql.ContainsPattern(Q));
            conditions.Add($"(name ILIKE {pattern} OR email ILIKE {pattern})");
        }

        var descending = Sort.StartsWith('-');
        var column = ByName ? "name" : "created_at";
        if (After is { } after)
        {
            object key = ByName ? after.Name! : DateTime.SpecifyKind(after.CreatedAt!.Value, DateTimeKind.Utc);
            conditions.Add($"({column}, id) {(descending ? "<" : ">")} ({P(key)}, {P(after.Id)})");
        }

        var direction = descending ? "DESC" : "ASC";
        var where = conditions.Count > 0 ? " WHERE " + string.Join(" AND ", conditions) : "";
        var limit = P(new PageRequest(Limit, null).ReadCount);
        return FormattableStringFactory.Create(
            $"SELECT *, xmin FROM customers{where} ORDER BY {column} {direction}, id {direction} LIMIT {limit}", [.. args]);
    }
}
