using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Http;

namespace Monolith.Customers.UnassignWarehouse;

/// <summary>DELETE /projects/{id}/warehouses/{warehouseId}: the warehouse no longer serves the project.</summary>
internal static class UnassignWarehouseEndpoint
{
    public static async Task<Results<NoContent, ProblemHttpResult>> HandleAsync(
        Guid id, Guid warehouseId, HttpContext http, CustomersDatabase database, CancellationToken ct)
    {
        await using var work = await database.WriteAsync(http, ct);
        if (await work.Db.ProjectWarehouses.Where(a => a.ProjectId == id && a.WarehouseId == warehouseId).ExecuteDeleteAsync(ct) == 0)
        {
            return Problems.NotFound("That warehouse is not assigned to that project (or either does not exist).");
        }

        await work.CommitAsync(ct);
        return TypedResults.NoContent();
    }
}
