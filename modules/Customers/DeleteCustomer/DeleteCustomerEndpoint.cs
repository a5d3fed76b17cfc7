using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Contracts;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Events;
using Monolith.SharedKernel.Http;

namespace Monolith.Customers.DeleteCustomer;

/// <summary>DELETE /customers/{id}: its projects, warehouses and assignments go with it (ON DELETE CASCADE, each row audited).</summary>
internal static class DeleteCustomerEndpoint
{
    public static async Task<Results<NoContent, ProblemHttpResult>> HandleAsync(
        Guid id, HttpContext http, CustomersDatabase database, InProcessEvents events, CancellationToken ct)
    {
        await using var work = await database.WriteAsync(http, ct);
        if (await work.Db.Customers.FindLockedAsync(id, RowLock.ForDelete, ct) is not { } customer)
        {
            return Problems.NotFound(Messages.NoCustomer);
        }

        if (!ETags.IfMatchAllows(http, customer.Version))
        {
            return Problems.PreconditionFailed();
        }

        var projectIds = await work.Db.Database
            .SqlQuery<Guid>($"SELECT id AS \"Value\" FROM projects WHERE customer_id = {id} ORDER BY id FOR UPDATE")
            .ToListAsync(ct);

        // In the deleting transaction, before the rows go: what other modules keep about these projects goes with them.
        await events.PublishAsync(new ProjectsDeleted(projectIds), work.Transaction, ct);

        await work.Db.Customers.Where(c => c.Id == id).ExecuteDeleteAsync(ct);
        await work.CommitAsync(ct);
        return TypedResults.NoContent();
    }
}
