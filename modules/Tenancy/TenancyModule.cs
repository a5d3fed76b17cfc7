using Hangfire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.Migrations;
using Monolith.SharedKernel.Events;
using Monolith.Tenancy.Backups;
using Monolith.Tenancy.Bounds;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Jobs;
using Monolith.Tenancy.Notifications;
using Monolith.Tenancy.Operators;
using Monolith.Tenancy.Placement;
using Monolith.Tenancy.Platform;
using Monolith.Tenancy.Provisioning;
using Monolith.Tenancy.Resolution;
using Monolith.Tenancy.Settings;

namespace Monolith.Tenancy;

public static class TenancyModule
{
    public const string ConnectionStringName = "Monolith";

    /// <summary>The owner role's connection (migrations, provisioning, jobs, the CLI); unset: the request role's (docs/adr/0005).</summary>
    public const string OwnerConnectionStringName = "MonolithOwner";

    /// <summary>Tenancy's meter: refusals by the bounds (<c>monolith.tenant.refused</c>) and job outcomes (<c>monolith.jobs.outcomes</c>).</summary>
    public const string MeterName = "Monolith.Tenancy";

    /// <summary>
    /// The services the host and the CLI share: the pool, the catalog, the tenant context, provisioning
    /// and migrations. No background work.
    /// </summary>
    public static IServiceCollection AddTenancyCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TenancyOptions>().Bind(configuration.GetSection(TenancyOptions.Section));
        services.AddOptions<PlatformOptions>().Bind(configuration.GetSection(PlatformOptions.Section));
        services.AddSingleton(sp => new PlatformDatabase(
            ConnectionString(configuration),
            configuration.GetConnectionString(OwnerConnectionStringName),
            configuration.GetValue<bool>($"{TenancyOptions.Section}:{nameof(TenancyOptions.TransactionPooling)}"),
            configuration.GetValue<int?>($"{TenancyOptions.Section}:{nameof(TenancyOptions.RequestPools)}"),
            backendMemoryMegabytes: configuration.GetValue<int?>($"{TenancyOptions.Section}:{nameof(TenancyOptions.BackendMemoryMegabytes)}"),
            requestLogins: configuration.GetValue<bool?>($"{TenancyOptions.Section}:{nameof(TenancyOptions.RequestLogins)}") ?? true,
            logger: sp.GetService<ILoggerFactory>()?.CreateLogger<PlatformDatabase>()));
        services.AddSingleton<TenantServers>();
        services.AddSingleton<ServerMap>();
        services.AddSingleton<TenantContext>();
        services.AddSingleton<TenantBounds>();
        services.AddSingleton<TenantDatabase>();
        services.AddSingleton<TenantCatalog>();
        services.AddSingleton<TenantCatalogCache>();
        services.AddSingleton<OperatorTrail>();
        services.AddSingleton<IOperatorTrail, OperatorTrailContract>();
        services.AddOptions<BackupOptions>().Bind(configuration.GetSection(BackupOptions.Section));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<TenantBackups>();
        services.TryAddSingleton(new TenantScripts(MigrationScripts.Tenant));
        services.AddSingleton(sp => new TenantProvisioner(
            sp.GetRequiredService<PlatformDatabase>(), sp.GetRequiredService<TenantServers>(), sp.GetRequiredService<TenantCatalog>(), sp.GetRequiredService<TenantCatalogCache>(),
            sp.GetRequiredService<TenantContext>(), sp.GetRequiredService<TenantScripts>(), sp.GetRequiredService<OperatorTrail>(),
            sp.GetRequiredService<TenantBackups>(), sp.GetRequiredService<TenantDatabase>(),
            sp.GetRequiredService<IOptions<TenancyOptions>>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<TenantProvisioner>>(), sp.GetService<ITenantOwnerSetup>(), new InProcessEvents(sp)));
        services.AddSingleton(sp => new TenantMigrator(
            sp.GetRequiredService<PlatformDatabase>(), sp.GetRequiredService<TenantServers>(), sp.GetRequiredService<TenantCatalog>(), sp.GetRequiredService<TenantCatalogCache>(),
            sp.GetRequiredService<TenantScripts>(), sp.GetRequiredService<OperatorTrail>(), sp.GetRequiredService<ILogger<TenantMigrator>>()));
        services.AddSingleton<ITenantDirectory, TenantDirectory>();
        services.AddSingleton(sp => new TenantPurge(
            sp.GetRequiredService<TenantCatalog>(), sp.GetRequiredService<TenantProvisioner>(), sp.GetRequiredService<TenantBackups>(),
            sp.GetRequiredService<PlatformDatabase>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<TenancyOptions>>(),
            sp.GetService<IBackgroundJobClient>()));
        services.AddSingleton<ITenantSettings, TenantSettingsReader>();
        services.TryAddScoped<InProcessEvents>();
        services.AddSingleton<IMigrationRuns, MigrationRuns>();
        services.AddSingleton<IBackupRuns, BackupRuns>();
        return services;
    }

    /// <summary>
    /// Everything the web host needs: core services, resolution strategies, the platform key, the change-notification hub
    /// (with the catalog's subscriber), Hangfire for every module's jobs (the server unless <c>Jobs:ServerEnabled</c> is
    /// false) and migration jobs.
    /// </summary>
    public static IHostApplicationBuilder AddTenancy(this IHostApplicationBuilder builder)
    {
        builder.Services.AddTenancyCore(builder.Configuration);
        builder.Services.AddSingleton<PlatformKey>();
        builder.Services.AddSingleton<PlatformKeyFilter>();
        builder.Services.AddSingleton<TenantTelemetry>();
        builder.Services.AddSingleton<IReadOnlyList<ITenantResolutionStrategy>>(sp => Strategies(sp.GetRequiredService<IOptions<TenancyOptions>>().Value));
        builder.Services.AddHostedService<RequestRoleCheck>();
        builder.Services.AddHostedService<PlatformMigrationOnStartup>();
        builder.Services.AddHostedService<BackendMemoryCheck>();
        builder.Services.AddHostedService<SpareSchemasTopUp>();
        builder.AddTenantBounds();
        builder.Services.AddSingleton<IChangeSubscriber, CatalogChangeSubscriber>();
        builder.Services.AddSingleton<IChangeSubscriber, ServerConnectionChanges>();
        builder.Services.AddSingleton<ChangeNotificationHub>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ChangeNotificationHub>());
        builder.AddJobs();
        builder.Services.AddSingleton<MigrationJobs>();
        builder.Services.AddSingleton<IRecurringJobSchedule, TenancyRecurringJobs>();
        builder.Services.AddSingleton<BackupJobs>();
        builder.Services.AddSingleton<RestoreJobs>();
        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: ["ready"]);

        return builder;
    }

    /// <summary>After authentication (the claim strategy reads the token), before authorization.</summary>
    public static IApplicationBuilder UseTenantResolution(this IApplicationBuilder app) => app.UseMiddleware<TenantResolutionMiddleware>();

    /// <summary>After the rate limiter: a tenant request holds one of its tenant's slots while it runs, within its time limit.</summary>
    public static IApplicationBuilder UseTenantBounds(this IApplicationBuilder app) =>
        app.UseMiddleware<TenantBoundsMiddleware>().UseRequestTimeouts();

    public static IEndpointRouteBuilder MapTenancy(this IEndpointRouteBuilder app)
    {
        PlatformEndpoints.Map(app);
        SettingsEndpoints.Map(app);
        app.MapJobsDashboard();
        return app;
    }

    public static string ConnectionString(IConfiguration configuration) =>
        configuration.GetConnectionString(ConnectionStringName) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"ConnectionStrings__{ConnectionStringName} is not set. ./build/run.sh sets it to its embedded PostgreSQL; elsewhere set it in the environment.");

    /// <summary>The owner role's connection string, for platform work outside the pools (Hangfire, the log sink); unset: the request role's.</summary>
    public static string OwnerConnectionString(IConfiguration configuration) =>
        configuration.GetConnectionString(OwnerConnectionStringName) is { Length: > 0 } owner ? owner : ConnectionString(configuration);

    /// <summary>The resolution strategies in the configured order; an unknown or repeated name is a start-up error.</summary>
    internal static List<ITenantResolutionStrategy> Strategies(TenancyOptions options)
    {
        var strategies = new List<ITenantResolutionStrategy>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in options.EffectiveResolutionOrder())
        {
            var key = name.Trim().ToLowerInvariant();
            if (!seen.Add(key))
            {
                throw new InvalidOperationException($"Tenancy:ResolutionOrder names the strategy '{key}' twice.");
            }

            strategies.Add(key switch
            {
                "header" => new HeaderStrategy(),
                "host" => new HostStrategy(options.BaseDomain),
                "claim" => new ClaimStrategy(),
                _ => throw new InvalidOperationException($"Tenancy:ResolutionOrder names an unknown strategy '{name}' (header, host, claim)."),
            });
        }

        return strategies;
    }
}

internal sealed class TenantDirectory(TenantCatalog catalog, TenantCatalogCache cache) : ITenantDirectory
{
    public Task<IReadOnlyList<TenantInfo>> ListLiveAsync(CancellationToken ct) => catalog.ListLiveAsync(ct);

    public ValueTask<TenantInfo?> FindAsync(string identifier, CancellationToken ct) => cache.FindAsync(identifier, ct);
}

internal sealed class PlatformMigrationOnStartup(TenantMigrator migrator, IOptions<TenancyOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.MigratePlatformOnStartup)
        {
            return Task.CompletedTask;
        }

        var outcome = migrator.MigratePlatform();
        return outcome.Succeeded
            ? Task.CompletedTask
            : throw new InvalidOperationException($"Platform script {outcome.FailedScript} failed.", outcome.Error);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
