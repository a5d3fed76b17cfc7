using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Http;

namespace Monolith.Customers.GetCustomer;

/// <summary>GET /customers/{id}, with its ETag.</summary>
internal static class GetCustomerEndpoint
{
    public static async Task<Results<Ok<CustomerResponse>, ProblemHttpResult>> HandleAsync(
        Guid id, HttpContext http, CustomersDatabase database, CancellationToken ct)
    {
        await using var reading = await database.ReadAsync(ct);
        if (await reading.Db.Customers.FirstOrDefaultAsync(c => c.Id == id, ct) is not { } customer)
        {
            return Problems.NotFound(Messages.NoCustomer);
        }

        ETags.Set(http, customer.Version);
        return TypedResults.Ok(CustomerResponse.From(customer));
    }
}
