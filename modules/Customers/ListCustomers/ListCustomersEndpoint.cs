using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.Tenancy.Isolation;

namespace Monolith.Customers.ListCustomers;

/// <summary>
/// GET /customers?q=&amp;status=&amp;sort=&amp;limit=&amp;cursor=. Keyset pagination on (sort key, id): a page
/// never repeats or skips a row that existed when the walk began, whatever is inserted meanwhile. Each shape of
/// the query is served by an index (see docs/api/customers.md).
/// </summary>
internal static class ListCustomersEndpoint
{
    public static async Task<Results<Ok<Page<CustomerResponse>>, ValidationProblem>> HandleAsync(
        HttpContext http, CustomersDatabase database, CancellationToken ct)
    {
        var (query, errors) = ListCustomersQuery.Parse(http);
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        await using var reading = await database.ReadAsync(ct);
        var page = new PageRequest(query!.Limit, null);
        var rows = await reading.Db.Customers.FromSql(query.ToSql()).ListAsync(CustomerResponse.From, ct);

        return TypedResults.Ok(page.ToPage(rows, last => new CustomerCursor(query.Sort, query.Status, query.Q,
            query.ByName ? last.Name : null,
            query.ByName ? null : last.CreatedAt,
            last.Id)));
    }
}
