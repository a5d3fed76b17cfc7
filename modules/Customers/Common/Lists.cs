using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Isolation;

namespace Monolith.Customers.Common;

/// <summary>The position of a list ordered by id (UUID v7: creation order): the last id served.</summary>
internal sealed record IdCursor(Guid After);

internal static class Lists
{
    /// <summary>limit and cursor for a list ordered by id.</summary>
    public static (PageRequest Page, Guid? After) IdPage(HttpContext http, ValidationErrors errors)
    {
        var page = PageRequest.Parse(http.Request.Query["limit"].ToString() is { Length: > 0 } l ? l : null, http.Request.Query["cursor"], errors);
        Guid? after = null;
        if (page.Cursor is not null)
        {
            if (Cursor.TryDecode<IdCursor>(page.Cursor, out var position))
            {
                after = position!.After;
            }
            else
            {
                errors.Add("cursor", Cursor.InvalidMessage);
            }
        }

        return (page, after);
    }

    /// <summary>
    /// One page of a parent's children in id order (a customer's projects or warehouses, a project's warehouses): limit and
    /// cursor only, the keyset read as written (<paramref name="read"/>: the SQL for the page), and 404 when the page is
    /// empty because the parent does not exist.
    /// </summary>
    public static async Task<Results<Ok<Page<TResponse>>, ValidationProblem, ProblemHttpResult>> ChildrenAsync<TRow, TResponse>(
        HttpContext http,
        CustomersDatabase database,
        Func<CustomersDbContext, int, Guid?, IQueryable<TRow>> read,
        Func<TRow, TResponse> map,
        Func<TResponse, Guid> idOf,
        Func<CustomersDbContext, CancellationToken, Task<bool>> parentExists,
        string parentMissing,
        CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ListQuery.RejectUnknownParameters(http.Request, errors, "limit", "cursor");
        var (page, after) = IdPage(http, errors);
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        await using var reading = await database.ReadAsync(ct);
        var rows = await read(reading.Db, page.ReadCount, after).ListAsync(map, ct);
        if (rows.Count == 0 && !await parentExists(reading.Db, ct))
        {
            return Problems.NotFound(parentMissing);
        }

        return TypedResults.Ok(page.ToPage(rows, row => new IdCursor(idOf(row))));
    }
}
