using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Monolith.Customers.Contracts;
using Monolith.SharedKernel.Events;
using Monolith.Tenancy;
using Monolith.Toggles.Data;
using Monolith.Toggles.Evaluation;

namespace Monolith.Toggles.Projects;

/// <summary>
/// Overrides go with their project (and with their customer's projects): removed in the transaction that
/// deletes the projects, each removal in the audit trail. Other instances hear of it through the
/// table's trigger once the transaction commits.
/// </summary>
internal sealed class ProjectsDeletedHandler(TogglesDatabase database, ToggleCache cache, TenantContext tenants) : IInProcessEventSubscriber<ProjectsDeleted>
{
    public async Task HandleAsync(ProjectsDeleted message, DbTransaction transaction, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(transaction);
        if (message.ProjectIds.Count == 0)
        {
            return;
        }

        var projectIds = message.ProjectIds.ToArray();
        await using var db = database.On(transaction);
        if (await db.Overrides.Where(o => projectIds.Contains(o.ProjectId)).ExecuteDeleteAsync(ct) > 0 && tenants.Current is { } tenant)
        {
            cache.Invalidate(tenant.SchemaName);
        }
    }
}
