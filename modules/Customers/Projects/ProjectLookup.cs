using Monolith.Customers.Common;
using Monolith.Customers.Contracts;
using Monolith.Tenancy.Isolation;

namespace Monolith.Customers.Projects;

/// <summary>Whether a project of the tenant in scope exists (for modules that hold data about projects).</summary>
internal sealed class ProjectLookup(TenantDatabase database) : IProjectLookup
{
    public async Task<bool> ExistsAsync(Guid projectId, CancellationToken ct)
    {
        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        await using var command = new Npgsql.NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM projects WHERE id = $1)", connection);
        command.With(projectId);
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }
}
