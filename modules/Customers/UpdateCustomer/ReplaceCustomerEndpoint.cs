using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Customers.Common;
using Monolith.Customers.Data;

namespace Monolith.Customers.UpdateCustomer;

/// <summary>PUT /customers/{id}.</summary>
internal static class ReplaceCustomerEndpoint
{
    public static Task<Results<Ok<CustomerResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        Guid id, ReplaceCustomerRequest request, HttpContext http, CustomersDatabase database, CancellationToken ct) =>
        UpdateCustomer.HandleAsync(id, http, database, request.ApplyTo, ct);
}
