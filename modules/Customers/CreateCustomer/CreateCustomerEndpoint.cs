using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy.Isolation;

namespace Monolith.Customers.CreateCustomer;

/// <summary>
/// POST /customers: a customer and its first projects in one transaction (a customer never exists without a project).
/// One SaveChanges sends the customer's and the projects' INSERTs as one batch.
/// </summary>
internal static class CreateCustomerEndpoint
{
    public static async Task<Results<Created<CreatedCustomerResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        CreateCustomerRequest request, HttpContext http, CustomersDatabase database, CancellationToken ct)
    {
        var errors = request.Validate();
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        await using var work = await database.WriteAsync(http, ct);
        var customer = new Customer
        {
            Id = Guid.CreateVersion7(),
            Name = request.Name!,
            LegalName = request.LegalName,
            Email = request.Email!,
            Phone = request.Phone,
            Status = "active",
        };
        work.Db.Customers.Add(customer);
        var projects = request.Projects!.Select(p => p!.ToProject(customer.Id)).ToList();
        work.Db.Projects.AddRange(projects);
        try
        {
            await work.Db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation(Messages.CustomerEmailTaken))
        {
            return Problems.Conflict("customer-email-taken", Messages.CustomerEmailTakenDetail(customer.Email));
        }

        await work.CommitAsync(ct);
        ETags.Set(http, customer.Version);
        return TypedResults.Created($"/customers/{customer.Id}", new CreatedCustomerResponse(
            customer.Id, customer.Name, customer.LegalName, customer.Email, customer.Phone, customer.Status, customer.CreatedAt, customer.UpdatedAt,
            projects.Select(ProjectResponse.From).ToList()));
    }
}
