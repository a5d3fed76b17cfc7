using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;

namespace Monolith.Customers.ListProjectWarehouses;

/// <summary>GET /projects/{id}/warehouses: the warehouses serving a project, in warehouse id order.</summary>
internal static class ListProjectWarehousesEndpoint
{
    public static async Task<Results<Ok<Page<WarehouseResponse>>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        Guid id, HttpContext http, CustomersDatabase database, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ListQuery.RejectUnknownParameters(http.Request, errors, "limit", "cursor");
        var (page, after) = Lists.IdPage(http, errors);
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        await using var reading = await database.ReadAsync(ct);
        var rows = await reading.Db.Warehouses.FromSql(Sql(id, page.ReadCount, after)).ListAsync(WarehouseResponse.From, ct);
        if (rows.Count == 0 && !await reading.Db.Projects.AnyAsync(p => p.Id == id, ct))
        {
            return Problems.NotFound(Messages.NoProject);
        }

        return TypedResults.Ok(page.ToPage(rows, w => new IdCursor(w.Id)));
    }

    /// <summary>Keyset on the warehouse id, in SQL: EF has no <c>&gt;</c> for uuids.</summary>
    internal static FormattableString Sql(Guid projectId, int readCount, Guid? after) => after is null
        ? (FormattableString)$"""
          SELECT w.*, w.xmin FROM project_warehouses pw JOIN warehouses w ON w.id = pw.warehouse_id
          WHERE pw.project_id = {projectId} ORDER BY pw.warehouse_id LIMIT {readCount}
          """
        : $"""
          SELECT w.*, w.xmin FROM project_warehouses pw JOIN warehouses w ON w.id = pw.warehouse_id
          WHERE pw.project_id = {projectId} AND pw.warehouse_id > {after.Value} ORDER BY pw.warehouse_id LIMIT {readCount}
          """;
}
