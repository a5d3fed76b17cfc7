using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Http;

namespace Monolith.Customers.DeleteWarehouse;

/// <summary>DELETE /warehouses/{id}: its assignments go with it (ON DELETE CASCADE).</summary>
internal static class DeleteWarehouseEndpoint
{
    public static async Task<Results<NoContent, ProblemHttpResult>> HandleAsync(
        Guid id, HttpContext http, CustomersDatabase database, CancellationToken ct)
    {
        await using var work = await database.WriteAsync(http, ct);
        if (await work.Db.Warehouses.FindLockedAsync(id, RowLock.ForDelete, ct) is not { } warehouse)
        {
            return Problems.NotFound(Messages.NoWarehouse);
        }

        if (!ETags.IfMatchAllows(http, warehouse.Version))
        {
            return Problems.PreconditionFailed();
        }

        await work.Db.Warehouses.Where(w => w.Id == id).ExecuteDeleteAsync(ct);
        await work.CommitAsync(ct);
        return TypedResults.NoContent();
    }
}
