using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Contracts;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Events;
using Monolith.SharedKernel.Http;

namespace Monolith.Customers.DeleteProject;

/// <summary>
/// DELETE /projects/{id}. A customer's last project cannot be deleted (409): the count is taken with the customer row
/// locked, so two concurrent deletes of the last two projects cannot both pass (docs/adr/0023).
/// </summary>
internal static class DeleteProjectEndpoint
{
    public static async Task<Results<NoContent, ProblemHttpResult>> HandleAsync(
        Guid id, HttpContext http, CustomersDatabase database, InProcessEvents events, CancellationToken ct)
    {
        await using var work = await database.WriteAsync(http, ct);

        // Lock the owning customer first (the same order as a customer delete), then the project.
        await work.Db.Database.ExecuteSqlAsync(
            $"SELECT 1 FROM customers WHERE id = (SELECT customer_id FROM projects WHERE id = {id}) FOR NO KEY UPDATE", ct);

        if (await work.Db.Projects.FindLockedAsync(id, RowLock.ForDelete, ct) is not { } project)
        {
            return Problems.NotFound(Messages.NoProject);
        }

        if (!ETags.IfMatchAllows(http, project.Version))
        {
            return Problems.PreconditionFailed();
        }

        if (await work.Db.Projects.CountAsync(p => p.CustomerId == project.CustomerId, ct) <= 1)
        {
            return Problems.Conflict("last-project",
                "This is the customer's last project and a customer always has at least one: create another project first, or delete the customer.");
        }

        // Published before the rows go, in the same transaction: handlers can still read the projects, and
        // anything they keep about them is removed (or kept) together with them.
        await events.PublishAsync(new ProjectsDeleted([id]), work.Transaction, ct);
        await work.Db.Projects.Where(p => p.Id == id).ExecuteDeleteAsync(ct);
        await work.CommitAsync(ct);
        return TypedResults.NoContent();
    }
}
