using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy.Isolation;

namespace Monolith.Customers.CreateWarehouse;

/// <summary>POST /customers/{customerId}/warehouses.</summary>
internal static class CreateWarehouseEndpoint
{
    public static async Task<Results<Created<WarehouseResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        Guid customerId, CreateWarehouseRequest request, HttpContext http, CustomersDatabase database, CancellationToken ct)
    {
        var (warehouse, errors) = request.ToWarehouse(customerId);
        if (warehouse is null)
        {
            return Problems.Validation(errors);
        }

        await using var work = await database.WriteAsync(http, ct);
        work.Db.Warehouses.Add(warehouse);
        try
        {
            await work.Db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.IsForeignKeyViolation())
        {
            return Problems.NotFound(Messages.NoCustomer);
        }

        await work.CommitAsync(ct);
        ETags.Set(http, warehouse.Version);
        return TypedResults.Created($"/warehouses/{warehouse.Id}", WarehouseResponse.From(warehouse));
    }
}
