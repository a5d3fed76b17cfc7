using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;

namespace Monolith.Customers.ListProjects;

/// <summary>GET /customers/{customerId}/projects, in id (= creation) order.</summary>
internal static class ListProjectsEndpoint
{
    public static async Task<Results<Ok<Page<ProjectResponse>>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        Guid customerId, HttpContext http, CustomersDatabase database, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        ListQuery.RejectUnknownParameters(http.Request, errors, "limit", "cursor");
        var (page, after) = Lists.IdPage(http, errors);
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        await using var reading = await database.ReadAsync(ct);
        var rows = await reading.Db.Projects.FromSql(Sql(customerId, page.ReadCount, after)).ListAsync(ProjectResponse.From, ct);
        if (rows.Count == 0 && !await reading.Db.Customers.AnyAsync(c => c.Id == customerId, ct))
        {
            return Problems.NotFound(Messages.NoCustomer);
        }

        return TypedResults.Ok(page.ToPage(rows, p => new IdCursor(p.Id)));
    }

    /// <summary>Keyset on id, in SQL: EF has no <c>&gt;</c> for uuids.</summary>
    internal static FormattableString Sql(Guid customerId, int readCount, Guid? after) => after is null
        ? (FormattableString)$"SELECT *, xmin FROM projects WHERE customer_id = {customerId} ORDER BY id LIMIT {readCount}"
        : $"SELECT *, xmin FROM projects WHERE customer_id = {customerId} AND id > {after.Value} ORDER BY id LIMIT {readCount}";
}
