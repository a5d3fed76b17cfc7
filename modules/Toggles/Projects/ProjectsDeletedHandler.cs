using System.Data.Common;
using Monolith.Customers.Contracts;
using Monolith.SharedKernel.Events;
using Monolith.Tenancy;
using Monolith.Toggles.Evaluation;
using Npgsql;

namespace Monolith.Toggles.Projects;

/// <summary>
/// Overrides go with their project (and with their customer's projects): removed in the transaction that
/// deletes the projects, each removal in the audit trail. Other instances hear of it through the
/// table's trigger once the transaction commits.
/// </summary>
internal sealed class ProjectsDeletedHandler(ToggleCache cache, TenantContext tenants) : IInProcessEventSubscriber<ProjectsDeleted>
{
    public async Task HandleAsync(ProjectsDeleted message, DbTransaction transaction, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(transaction);
        if (message.ProjectIds.Count == 0)
        {
            return;
        }

        await using var command = new NpgsqlCommand(
            "DELETE FROM feature_overrides WHERE project_id = ANY($1)", (NpgsqlConnection)transaction.Connection!, (NpgsqlTransaction)transaction);
        command.Parameters.AddWithValue(message.ProjectIds.ToArray());
        if (await command.ExecuteNonQueryAsync(ct) > 0 && tenants.Current is { } tenant)
        {
            cache.Invalidate(tenant.SchemaName);
        }
    }
}
