using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Contracts;

namespace Monolith.Customers.Data;

/// <summary>Whether a project of the tenant in scope exists (for modules that hold data about projects).</summary>
internal sealed class ProjectLookup(CustomersDatabase database) : IProjectLookup
{
    public async Task<bool> ExistsAsync(Guid projectId, CancellationToken ct)
    {
        await using var reading = await database.ReadAsync(ct);
        return await reading.Db.Projects.AnyAsync(p => p.Id == projectId, ct);
    }
}
