using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy.Isolation;

namespace Monolith.Customers.UpdateProject;

/// <summary>PATCH /projects/{id}: locked, If-Match checked, only changed columns written (nothing when nothing changed).</summary>
internal static class PatchProjectEndpoint
{
    public static async Task<Results<Ok<ProjectResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        Guid id, PatchProjectRequest request, HttpContext http, CustomersDatabase database, CancellationToken ct)
    {
        await using var work = await database.WriteAsync(http, ct);
        if (await work.Db.Projects.FindLockedAsync(id, RowLock.ForChange, ct) is not { } project)
        {
            return Problems.NotFound(Messages.NoProject);
        }

        if (!ETags.IfMatchAllows(http, project.Version))
        {
            return Problems.PreconditionFailed();
        }

        var errors = request.ApplyTo(project);
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        if (work.Db.ChangeTracker.HasChanges())
        {
            project.UpdatedAt = Timestamps.Now().UtcDateTime;
            try
            {
                await work.Db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException e) when (e.IsUniqueViolation(Messages.ProjectCodeTaken))
            {
                return Problems.Conflict("project-code-taken", Messages.ProjectCodeTakenDetail(project.Code!));
            }

            await work.CommitAsync(ct);
        }

        ETags.Set(http, project.Version);
        return TypedResults.Ok(ProjectResponse.From(project));
    }
}
