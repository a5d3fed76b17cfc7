using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Paging;

namespace Monolith.Customers.ListProjectWarehouses;

/// <summary>GET /projects/{id}/warehouses: the warehouses serving a project, in warehouse id order.</summary>
internal static class ListProjectWarehousesEndpoint
{
    public static Task<Results<Ok<Page<WarehouseResponse>>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        Guid id, HttpContext http, CustomersDatabase database, CancellationToken ct) =>
        Lists.ChildrenAsync(http, database, (db, readCount, after) => db.Warehouses.FromSql(Sql(id, readCount, after)), WarehouseResponse.From,
            w => w.Id, (db, token) => db.Projects.AnyAsync(p => p.Id == id, token), Messages.NoProject, ct);

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
