using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Customers.Common;
using Monolith.Customers.Projects;
using Monolith.Customers.Warehouses;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Idempotency;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Customers.Assignments;

/// <summary>
/// PUT/DELETE /projects/{id}/warehouses/{warehouseId}, GET /projects/{id}/warehouses: which warehouses serve a
/// project. Both must belong to the same customer (409 otherwise; the table's composite keys hold it too).
/// </summary>
internal static class AssignmentEndpoints
{
    public static async Task<Results<Ok<Page<WarehouseResponse>>, ValidationProblem, ProblemHttpResult>> ListAsync(
        Guid id, HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ListQuery.RejectUnknownParameters(http.Request, errors, "limit", "cursor");
        var (page, after) = Lists.IdPage(http, errors);
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        var rows = await Lists.ReadChildRowsAsync(connection, ListSql(after is not null), id, page, after, reader => WarehouseStore.Read(reader).Warehouse, ct);

        if (rows.Count == 0 && await ProjectStore.FindAsync(connection, null, id, RowLock.None, ct) is null)
        {
            return Problems.NotFound("No project with that id.");
        }

        return TypedResults.Ok(page.ToPage(rows, w => new IdCursor(w.Id)));
    }

    internal static string ListSql(bool afterCursor) =>
        $"""
        SELECT {string.Join(", ", WarehouseStore.Columns.Split(", ").Select(c => "w." + c))}
        FROM project_warehouses pw JOIN warehouses w ON w.id = pw.warehouse_id
        WHERE pw.project_id = $1{(afterCursor ? " AND pw.warehouse_id > $3" : "")}
        ORDER BY pw.warehouse_id LIMIT $2
        """;

    public static async Task<Results<NoContent, ProblemHttpResult>> AssignAsync(
        Guid id, Guid warehouseId, HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        await using var work = await TenantTransaction.BeginAsync(http, database, ct);
        var project = await ProjectStore.FindAsync(work.Connection, work.Transaction, id, RowLock.None, ct);
        if (project is null)
        {
            return Problems.NotFound("No project with that id.");
        }

        var warehouse = await WarehouseStore.FindAsync(work.Connection, work.Transaction, warehouseId, RowLock.None, ct);
        if (warehouse is null)
        {
            return Problems.NotFound("No warehouse with that id.");
        }

        if (warehouse.Value.Warehouse.CustomerId != project.Value.Project.CustomerId)
        {
            return Problems.Conflict("warehouse-of-another-customer",
                "The warehouse belongs to another customer than the project; a project can only use its own customer's warehouses.");
        }

        try
        {
            await using var insert = work.Command(
                "INSERT INTO project_warehouses (project_id, warehouse_id, customer_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING");
            insert.With(id).With(warehouseId).With(project.Value.Project.CustomerId);
            await insert.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException e) when (e.IsForeignKeyViolation())
        {
            return Problems.NotFound("The project or the warehouse was deleted meanwhile.");
        }

        await work.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> UnassignAsync(
        Guid id, Guid warehouseId, HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        await using var work = await TenantTransaction.BeginAsync(http, database, ct);
        await using var delete = work.Command("DELETE FROM project_warehouses WHERE project_id = $1 AND warehouse_id = $2");
        delete.With(id).With(warehouseId);
        if (await delete.ExecuteNonQueryAsync(ct) == 0)
        {
            return Problems.NotFound("That warehouse is not assigned to that project (or either does not exist).");
        }

        await work.CommitAsync(ct);
        return TypedResults.NoContent();
    }
}
