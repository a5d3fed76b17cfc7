using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Isolation;

namespace Monolith.Customers.UpdateCustomer;

/// <summary>
/// What PUT and PATCH share: the row locked (FOR NO KEY UPDATE), If-Match checked against it, the request applied to
/// the tracked entity, and only the columns that changed written. A request that changes nothing writes nothing: same
/// ETag, no audit record.
/// </summary>
internal static class UpdateCustomer
{
    public static async Task<Results<Ok<CustomerResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        Guid id, HttpContext http, CustomersDatabase database, Func<Customer, ValidationErrors> apply, CancellationToken ct)
    {
        await using var work = await database.WriteAsync(http, ct);
        if (await work.Db.Customers.FindLockedAsync(id, RowLock.ForChange, ct) is not { } customer)
        {
            return Problems.NotFound(Messages.NoCustomer);
        }

        if (!ETags.IfMatchAllows(http, customer.Version))
        {
            return Problems.PreconditionFailed();
        }

        var errors = apply(customer);
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        if (work.Db.ChangeTracker.HasChanges())
        {
            customer.UpdatedAt = Timestamps.Now().UtcDateTime;
            try
            {
                await work.Db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException e) when (e.IsUniqueViolation(Messages.CustomerEmailTaken))
            {
                return Problems.Conflict("customer-email-taken", Messages.CustomerEmailTakenDetail(customer.Email));
            }

            await work.CommitAsync(ct);
        }

        ETags.Set(http, customer.Version);
        return TypedResults.Ok(CustomerResponse.From(customer));
    }
}
