using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Customers.Common;
using Monolith.Customers.Data;

namespace Monolith.Customers.UpdateCustomer;

/// <summary>PATCH /customers/{id} (JSON merge patch).</summary>
internal static class PatchCustomerEndpoint
{
    public static Task<Results<Ok<CustomerResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        Guid id, PatchCustomerRequest request, HttpContext http, CustomersDatabase database, CancellationToken ct) =>
        UpdateCustomer.HandleAsync(id, http, database, request.ApplyTo, ct);
}
