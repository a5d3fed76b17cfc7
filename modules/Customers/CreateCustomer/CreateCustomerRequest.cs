using Monolith.Customers.Common;
using Monolith.Customers.CreateProject;
using Monolith.SharedKernel.Validation;

namespace Monolith.Customers.CreateCustomer;

internal sealed record CreateCustomerRequest(string? Name, string? LegalName, string? Email, string? Phone, IReadOnlyList<CreateProjectRequest?>? Projects)
{
    public ValidationErrors Validate()
    {
        var errors = new ValidationErrors();
        Rules.Text(errors, "name", Name, Rules.NameMax, required: true);
        Rules.Text(errors, "legalName", LegalName, Rules.LegalNameMax, required: false);
        Rules.Email(errors, "email", Email);
        Rules.Phone(errors, "phone", Phone);

        if (Projects is null || Projects.Count == 0)
        {
            errors.Add("projects", "projects must hold at least one project: a customer is created with its first projects.");
        }
        else if (Projects.Count > Rules.MaxProjectsPerRequest)
        {
            errors.Add("projects", $"projects may hold at most {Rules.MaxProjectsPerRequest} projects; add more with POST /customers/{{id}}/projects.");
        }
        else
        {
            var codes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < Projects.Count; i++)
            {
                var project = Projects[i];
                if (project is null)
                {
                    errors.Add($"projects[{i}]", "each project must be an object {name, code?}.");
                    continue;
                }

                project.Validate(errors, $"projects[{i}].");
                if (project.Code is not null && !codes.Add(project.Code))
                {
                    errors.Add($"projects[{i}].code", "code must be unique within the customer (ignoring case); it repeats an earlier project's code.");
                }
            }
        }

        return errors;
    }
}

/// <summary>The answer to POST /customers: the customer with the projects it was created with.</summary>
internal sealed record CreatedCustomerResponse(
    Guid Id, string Name, string? LegalName, string Email, string? Phone, string Status, DateTime CreatedAt, DateTime UpdatedAt,
    IReadOnlyList<ProjectResponse> Projects);
