using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy.Isolation;

namespace Monolith.Customers.UpdateWarehouse;

/// <summary>PATCH /warehouses/{id}: locked, If-Match checked, only changed columns written (nothing when nothing changed).</summary>
internal static class PatchWarehouseEndpoint
{
    public static async Task<Results<Ok<WarehouseResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        Guid id, PatchWarehouseRequest request, HttpContext http, CustomersDatabase database, CancellationToken ct)
    {
        await using var work = await database.WriteAsync(http, ct);
        if (await work.Db.Warehouses.FindLockedAsync(id, RowLock.ForChange, ct) is not { } warehouse)
        {
            return Problems.NotFound(Messages.NoWarehouse);
        }

        if (!ETags.IfMatchAllows(http, warehouse.Version))
        {
            return Problems.PreconditionFailed();
        }

        var errors = request.ApplyTo(warehouse);
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        if (work.Db.ChangeTracker.HasChanges())
        {
            warehouse.UpdatedAt = Timestamps.Now().UtcDateTime;
            await work.Db.SaveChangesAsync(ct);
            await work.CommitAsync(ct);
        }

        ETags.Set(http, warehouse.Version);
        return TypedResults.Ok(WarehouseResponse.From(warehouse));
    }
}
