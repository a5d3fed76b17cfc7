using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Http;

namespace Monolith.Customers.GetWarehouse;

/// <summary>GET /warehouses/{id}, with its ETag.</summary>
internal static class GetWarehouseEndpoint
{
    public static async Task<Results<Ok<WarehouseResponse>, ProblemHttpResult>> HandleAsync(
        Guid id, HttpContext http, CustomersDatabase database, CancellationToken ct)
    {
        await using var reading = await database.ReadAsync(ct);
        if (await reading.Db.Warehouses.FirstOrDefaultAsync(w => w.Id == id, ct) is not { } warehouse)
        {
            return Problems.NotFound(Messages.NoWarehouse);
        }

        ETags.Set(http, warehouse.Version);
        return TypedResults.Ok(WarehouseResponse.From(warehouse));
    }
}
