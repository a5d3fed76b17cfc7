using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Paging;

namespace Monolith.Customers.ListWarehouses;

/// <summary>GET /customers/{customerId}/warehouses, in id (= creation) order.</summary>
internal static class ListWarehousesEndpoint
{
    public static Task<Results<Ok<Page<WarehouseResponse>>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        Guid customerId, HttpContext http, CustomersDatabase database, CancellationToken ct) =>
        Lists.ChildrenAsync(http, database, (db, readCount, after) => db.Warehouses.FromSql(Sql(customerId, readCount, after)), WarehouseResponse.From,
            w => w.Id, (db, token) => db.Customers.AnyAsync(c => c.Id == customerId, token), Messages.NoCustomer, ct);

    /// <summary>Keyset on id, in SQL: EF has no <c>&gt;</c> for uuids.</summary>
    internal static FormattableString Sql(Guid customerId, int readCount, Guid? after) => after is null
        ? (FormattableString)$"SELECT *, xmin FROM warehouses WHERE customer_id = {customerId} ORDER BY id LIMIT {readCount}"
        : $"SELECT *, xmin FROM warehouses WHERE customer_id = {customerId} AND id > {after.Value} ORDER BY id LIMIT {readCount}";
}
