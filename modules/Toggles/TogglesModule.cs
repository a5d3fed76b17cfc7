using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.FeatureManagement;
using Monolith.Customers.Contracts;
using Monolith.SharedKernel.Events;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Jobs;
using Monolith.Tenancy.Notifications;
using Monolith.Toggles.Contracts;
using Monolith.Toggles.Data;
using Monolith.Toggles.Definitions;
using Monolith.Toggles.Evaluation;
using Monolith.Toggles.FeatureManagement;
using Monolith.Toggles.Overrides;
using Monolith.Toggles.Projects;
using Monolith.Toggles.Schedules;
using Monolith.Toggles.Stream;

namespace Monolith.Toggles;

public static class TogglesModule
{
    /// <summary>The evaluation cache and its listener, the live toggle stream's feeds, <see cref="IFeatureToggles"/> for other modules, Microsoft.FeatureManagement, the ProjectsDeleted handler, and the recurring job that applies scheduled changes.</summary>
    public static IHostApplicationBuilder AddToggles(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<TogglesOptions>().Bind(builder.Configuration.GetSection(TogglesOptions.Section));
        services.AddTenantDbContext<TogglesDbContext>();
        services.AddSingleton<TogglesDatabase>();
        services.AddSingleton<ToggleStore>();
        services.AddSingleton<ToggleCache>();
        services.AddSingleton<IFeatureToggles>(sp => sp.GetRequiredService<ToggleCache>());
        services.AddSingleton<ToggleChangeListener>();
        services.AddHostedService(sp => sp.GetRequiredService<ToggleChangeListener>());
        services.AddSingleton<ToggleUsageFlusher>();
        services.AddHostedService(sp => sp.GetRequiredService<ToggleUsageFlusher>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ToggleScheduler>();
        services.AddSingleton<IRecurringJobSchedule, TogglesRecurringJobs>();
        services.AddTogglesCore();
        services.AddSingleton<IInProcessEventSubscriber<ProjectsDeleted>, ProjectsDeletedHandler>();
        services.AddSingleton<IInProcessEventSubscriber<TenantSettingChanged>, UndefinedDefaultFollower>();
        services.AddSingleton<ToggleFeedReader>();
        services.AddSingleton<ToggleFeeds>();
        services.AddSingleton<IChangeSubscriber>(sp => sp.GetRequiredService<ToggleFeeds>());

        services.AddHttpContextAccessor();
        services.AddFeatureManagement().AddFeatureFilter<TogglesFeatureFilter>();
        services.Replace(ServiceDescriptor.Singleton<IFeatureDefinitionProvider, TogglesFeatureDefinitionProvider>());
        return builder;
    }

    /// <summary>What the host and the CLI share: the step that hands a restored tenant's pending schedules to the scheduler.</summary>
    public static IServiceCollection AddTogglesCore(this IServiceCollection services)
    {
        services.AddSingleton<ITenantRestoreStep, ScheduleRestoredChanges>();
        services.AddSingleton(TenantMoveSteps.CarryRow("platform.toggle_schedule_due"));
        return services;
    }

    public static IEndpointRouteBuilder MapToggles(this IEndpointRouteBuilder app)
    {
        DefinitionEndpoints.Map(app);
        ScheduleEndpoints.Map(app);
        ProjectFeatureEndpoints.Map(app);
        ToggleStreamEndpoint.Map(app);
        return app;
    }
}
