using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Validation;

namespace Monolith.Customers.CreateProject;

/// <summary>A new project: of POST /customers/{id}/projects, and each of POST /customers' first projects.</summary>
internal sealed record CreateProjectRequest(string? Name, string? Code)
{
    public void Validate(ValidationErrors errors, string prefix)
    {
        Rules.Text(errors, prefix + "name", Name, Rules.NameMax, required: true);
        Rules.Text(errors, prefix + "code", Code, Rules.CodeMax, required: false);
    }

    public Project ToProject(Guid customerId) =>
        new() { Id = Guid.CreateVersion7(), CustomerId = customerId, Name = Name!, Code = Code, Status = "active" };
}
