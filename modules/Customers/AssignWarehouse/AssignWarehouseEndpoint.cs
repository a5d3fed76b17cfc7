using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Customers.AssignWarehouse;

/// <summary>
/// PUT /projects/{id}/warehouses/{warehouseId}: the warehouse serves the project from now on (idempotent). Both must
/// belong to the same customer (409 otherwise; the table's composite keys hold it too, docs/adr/0023).
/// </summary>
internal static class AssignWarehouseEndpoint
{
    public static async Task<Results<NoContent, ProblemHttpResult>> HandleAsync(
        Guid id, Guid warehouseId, HttpContext http, CustomersDatabase database, CancellationToken ct)
    {
        await using var work = await database.WriteAsync(http, ct);
        var projectCustomer = await work.Db.Projects.Where(p => p.Id == id).Select(p => (Guid?)p.CustomerId).FirstOrDefaultAsync(ct);
        if (projectCustomer is not { } customerId)
        {
            return Problems.NotFound(Messages.NoProject);
        }

        var warehouseCustomer = await work.Db.Warehouses.Where(w => w.Id == warehouseId).Select(w => (Guid?)w.CustomerId).FirstOrDefaultAsync(ct);
        if (warehouseCustomer is null)
        {
            return Problems.NotFound(Messages.NoWarehouse);
        }

        if (warehouseCustomer != customerId)
        {
            return Problems.Conflict("warehouse-of-another-customer",
                "The warehouse belongs to another customer than the project; a project can only use its own customer's warehouses.");
        }

        try
        {
            // SQL: EF has no INSERT … ON CONFLICT DO NOTHING, which makes a repeated PUT a no-op.
            await work.Db.Database.ExecuteSqlAsync(
                $"INSERT INTO project_warehouses (project_id, warehouse_id, customer_id) VALUES ({id}, {warehouseId}, {customerId}) ON CONFLICT DO NOTHING", ct);
        }
        catch (PostgresException e) when (e.IsForeignKeyViolation())
        {
            return Problems.NotFound("The project or the warehouse was deleted meanwhile.");
        }

        await work.CommitAsync(ct);
        return TypedResults.NoContent();
    }
}
