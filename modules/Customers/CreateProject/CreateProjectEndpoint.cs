using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Isolation;

namespace Monolith.Customers.CreateProject;

/// <summary>POST /customers/{customerId}/projects.</summary>
internal static class CreateProjectEndpoint
{
    public static async Task<Results<Created<ProjectResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        Guid customerId, CreateProjectRequest request, HttpContext http, CustomersDatabase database, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        request.Validate(errors, "");
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        await using var work = await database.WriteAsync(http, ct);
        var project = request.ToProject(customerId);
        work.Db.Projects.Add(project);
        try
        {
            await work.Db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.IsForeignKeyViolation())
        {
            return Problems.NotFound(Messages.NoCustomer);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation(Messages.ProjectCodeTaken))
        {
            return Problems.Conflict("project-code-taken", Messages.ProjectCodeTakenDetail(request.Code!));
        }

        await work.CommitAsync(ct);
        ETags.Set(http, project.Version);
        return TypedResults.Created($"/projects/{project.Id}", ProjectResponse.From(project));
    }
}
