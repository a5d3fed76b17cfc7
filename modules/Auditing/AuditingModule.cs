using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Monolith.Auditing.Data;
using Monolith.Auditing.Jobs;
using Monolith.Auditing.Retention;
using Monolith.Auditing.Trail;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http.OpenApi;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Jobs;
using Monolith.Tenancy.Platform;
using Monolith.Tenancy.Resolution;

namespace Monolith.Auditing;

public static class AuditingModule
{
    /// <summary>Auditing's meter: the anchoring lag (<c>monolith.audit.anchor.lag</c>) and the log sink's queue (<c>monolith.logs.*</c>).</summary>
    public const string MeterName = "Monolith.Auditing";

    /// <summary>What the host and the CLI share: the retention tasks, their runner, the trail's anchoring and the clock.</summary>
    public static IServiceCollection AddAuditingCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RetentionOptions>().Bind(configuration.GetSection(RetentionOptions.Section));
        services.AddOptions<AuditingOptions>().Bind(configuration.GetSection(AuditingOptions.Section));
        services.AddSingleton<AuditAnchoring>();
        // The anchor keeps proving the tenant's trail on its new server (docs/adr/0066).
        services.AddSingleton(TenantMoveSteps.CarryRow("platform.audit_anchors"));
        services.AddTenantDbContext<AuditingDbContext>();
        services.AddSingleton<AuditingDatabase>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IRetentionTask, AuditRetentionTask>();
        services.AddSingleton<RetentionRunner>();
        return services;
    }

    /// <summary>The host: retention, and its recurring jobs (retention, anchoring) on Tenancy's Hangfire.</summary>
    public static IHostApplicationBuilder AddAuditing(this IHostApplicationBuilder builder)
    {
        builder.Services.AddAuditingCore(builder.Configuration);
        builder.Services.AddSingleton<RetentionPasses>();
        builder.Services.AddTransient<RetentionJobs>();
        builder.Services.AddSingleton<IRecurringJobSchedule, AuditingRecurringJobs>();
        builder.Services.AddSingleton<SharedKernel.Telemetry.ITelemetrySource, AnchoringLagGauge>();
        return builder;
    }

    public static IEndpointRouteBuilder MapAuditing(this IEndpointRouteBuilder app)
    {
        var audit = app.MapGroup("/audit-events").RequireTenant().RequireAuthorization(Policies.Admin).WithTags("Audit trail");
        audit.MapGet("/", ListAuditEvents.HandleAsync).AcceptsQuery("entityType", "entityId", "action", "actorId", "from", "to").AcceptsPaging();
        audit.MapGet("/verify", VerifyAuditTrail.HandleAsync);

        app.MapGroup("/platform").RequirePlatformKey().WithTags("Platform")
            .MapGet("/jobs", ListJobRuns.HandleAsync);
        return app;
    }
}
