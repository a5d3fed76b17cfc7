using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Common;
using Monolith.Customers.Data;
using Monolith.SharedKernel.Http;

namespace Monolith.Customers.GetProject;

/// <summary>GET /projects/{id}, with its ETag.</summary>
internal static class GetProjectEndpoint
{
    public static async Task<Results<Ok<ProjectResponse>, ProblemHttpResult>> HandleAsync(
        Guid id, HttpContext http, CustomersDatabase database, CancellationToken ct)
    {
        await using var reading = await database.ReadAsync(ct);
        if (await reading.Db.Projects.FirstOrDefaultAsync(p => p.Id == id, ct) is not { } project)
        {
            return Problems.NotFound(Messages.NoProject);
        }

        ETags.Set(http, project.Version);
        return TypedResults.Ok(ProjectResponse.From(project));
    }
}
