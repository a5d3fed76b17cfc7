using Hangfire.Client;
using Hangfire.Common;
using Hangfire.Server;
using Microsoft.Extensions.Logging;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;

namespace Monolith.Tenancy.Jobs;

/// <summary>
/// Carries the tenant into every job. When a job is created inside a tenant context, the client side stamps the
/// tenant's identifier on it as a job parameter; when a worker performs it, the server side looks the tenant up
/// again (it may have been suspended or deleted since), enters its <see cref="TenantContext"/> and an
/// <see cref="OperationContext"/> whose actor is the job, and leaves both when the job ends. A job for a tenant
/// that no longer exists is not performed.
/// </summary>
internal sealed partial class TenantJobFilter(TenantContext tenants, ITenantDirectory directory, ILogger<TenantJobFilter> logger)
    : JobFilterAttribute, IClientFilter, IServerFilter
{
    public const string TenantParameter = "Tenant";
    private const string ScopeItem = "Monolith.TenantScope";

    public void OnCreating(CreatingContext context)
    {
        if (tenants.Current is { } tenant && context.GetJobParameter<string>(TenantParameter) is null)
        {
            context.SetJobParameter(TenantParameter, tenant.Identifier);
        }
    }

    public void OnCreated(CreatedContext context)
    {
    }

    public void OnPerforming(PerformingContext context)
    {
        var jobName = $"{context.BackgroundJob.Job.Type.Name}.{context.BackgroundJob.Job.Method.Name}";
        var operation = new OperationContext
        {
            RequestId = "job-" + context.BackgroundJob.Id,
            ActorKind = ActorKinds.Job,
            ActorName = jobName,
        };

        var identifier = context.GetJobParameter<string>(TenantParameter);
        TenantInfo? tenant = null;
        if (identifier is not null)
        {
            // Hangfire filters are synchronous; workers are dedicated threads, so waiting here is fine.
            tenant = directory.FindAsync(identifier, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            if (tenant is null || tenant.Status is not (TenantStatus.Active or TenantStatus.Suspended))
            {
                LogTenantGone(logger, context.BackgroundJob.Id, identifier);
                context.Canceled = true;
                return;
            }
        }

        // Entered here and left in OnPerformed: both are AsyncLocal values set on the worker's own flow, which the
        // job method (invoked right after on the same flow) inherits.
        var operationScope = OperationContext.Begin(operation);
        var tenantScope = tenant is null ? null : tenants.Enter(tenant);
        context.Items[ScopeItem] = new Scope(operationScope, tenantScope);
    }

    public void OnPerformed(PerformedContext context)
    {
        if (context.Items.TryGetValue(ScopeItem, out var value) && value is Scope scope)
        {
            context.Items.Remove(ScopeItem);
            scope.Dispose();
        }
    }

    private sealed class Scope(IDisposable operation, IDisposable? tenant) : IDisposable
    {
        public void Dispose()
        {
            tenant?.Dispose();
            operation.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} for tenant {Tenant} not performed: the tenant no longer exists")]
    private static partial void LogTenantGone(ILogger logger, string jobId, string tenant);
}
