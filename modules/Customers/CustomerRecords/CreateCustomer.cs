using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Customers.Common;
using Monolith.Customers.Projects;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Idempotency;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Customers.CustomerRecords;

internal sealed record CreateCustomerRequest(string? Name, string? LegalName, string? Email, string? Phone, IReadOnlyList<NewProjectRequest?>? Projects);

/// <summary>POST /customers: a customer and its first projects in one transaction (a customer never exists without a project).</summary>
internal static class CreateCustomer
{
    public static async Task<Results<Created<CreatedCustomerResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        CreateCustomerRequest request, HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        var errors = Validate(request);
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        await using var work = await TenantTransaction.BeginAsync(http, database, ct);
        var id = Guid.CreateVersion7();
        CustomerResponse customer;
        uint version;
        try
        {
            await using (var insert = work.Command(
                $"""
                INSERT INTO customers (id, name, legal_name, email, phone)
                VALUES ($1, $2, $3, $4, $5)
                RETURNING {CustomerRow.Columns}
                """))
            {
                insert.With(id).With(request.Name).With(request.LegalName).With(request.Email).With(request.Phone);
                await using var reader = await insert.ExecuteReaderAsync(ct);
                await reader.ReadAsync(ct);
                (customer, version) = CustomerRow.Read(reader);
            }
        }
        catch (PostgresException e) when (e.IsUniqueViolation(CustomerRow.EmailTaken))
        {
            return Problems.Conflict("customer-email-taken", CustomerRow.EmailTakenDetail(request.Email!));
        }

        var projects = new List<ProjectResponse>();
        foreach (var project in request.Projects!)
        {
            projects.Add((await ProjectStore.InsertAsync(work, id, project!.Name!, project.Code, ct)).Project);
        }

        await work.CommitAsync(ct);
        ETags.Set(http, version);
        return TypedResults.Created($"/customers/{id}", new CreatedCustomerResponse(
            customer.Id, customer.Name, customer.LegalName, customer.Email, customer.Phone, customer.Status, customer.CreatedAt, customer.UpdatedAt,
            projects));
    }

    internal static ValidationErrors Validate(CreateCustomerRequest request)
    {
        var errors = new ValidationErrors();
        Rules.Text(errors, "name", request.Name, Rules.NameMax, required: true);
        Rules.Text(errors, "legalName", request.LegalName, Rules.LegalNameMax, required: false);
        Rules.Email(errors, "email", request.Email);
        Rules.Phone(errors, "phone", request.Phone);

        if (request.Projects is null || request.Projects.Count == 0)
        {
            errors.Add("projects", "projects must hold at least one project: a customer is created with its first projects.");
        }
        else if (request.Projects.Count > Rules.MaxProjectsPerRequest)
        {
            errors.Add("projects", $"projects may hold at most {Rules.MaxProjectsPerRequest} projects; add more with POST /customers/{{id}}/projects.");
        }
        else
        {
            var codes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < request.Projects.Count; i++)
            {
                var project = request.Projects[i];
                if (project is null)
                {
                    errors.Add($"projects[{i}]", "each project must be an object {name, code?}.");
                    continue;
                }

                ProjectRules.Validate(errors, $"projects[{i}].", project.Name, project.Code, nameRequired: true);
                if (project.Code is not null && !codes.Add(project.Code))
                {
                    errors.Add($"projects[{i}].code", "code must be unique within the customer (ignoring case); it repeats an earlier project's code.");
                }
            }
        }

        return errors;
    }
}
