using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.Common;
using Hangfire.Dashboard;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Monolith.Tenancy.Platform;

namespace Monolith.Tenancy.Jobs;

/// <summary>
/// Hangfire on PostgreSQL (schema <c>hangfire</c>, created and upgraded by Hangfire.PostgreSql itself). Everything
/// Hangfire needs is registered in this host's container rather than in Hangfire's static globals: the storage,
/// the activator and the job filters (retry policy, tenant carrier), so two hosts in one process (tests) never
/// share them.
/// </summary>
internal static class JobsSetup
{
    public const string Schema = "hangfire";
    public const string DashboardPath = "/hangfire";

    public static void AddJobs(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<JobsOptions>().Bind(builder.Configuration.GetSection(JobsOptions.Section));
        var options = builder.Configuration.GetSection(JobsOptions.Section).Get<JobsOptions>() ?? new JobsOptions();
        var connectionString = TenancyModule.OwnerConnectionString(builder.Configuration);

        services.AddSingleton<TenantJobFilter>();
        services.AddSingleton<JobMetrics>();
        services.AddSingleton<IJobFilterProvider>(sp =>
        {
            var jobs = sp.GetRequiredService<IOptions<JobsOptions>>().Value;
            var filters = new JobFilterCollection
            {
                new AutomaticRetryAttribute
                {
                    Attempts = Math.Max(0, jobs.RetryAttempts),
                    DelaysInSeconds = jobs.EffectiveRetryDelays,
                    OnAttemptsExceeded = AttemptsExceededAction.Fail,
                },
                new StatisticsHistoryAttribute(),
                new ContinuationsSupportAttribute(),
            };
            filters.Add(sp.GetRequiredService<TenantJobFilter>());
            filters.Add(sp.GetRequiredService<JobMetrics>());
            return filters;
        });
        services.AddSingleton<JobStorage>(sp =>
        {
            var jobs = sp.GetRequiredService<IOptions<JobsOptions>>().Value;
            var storageOptions = new PostgreSqlStorageOptions
            {
                SchemaName = Schema,
                PrepareSchemaIfNecessary = true,
                QueuePollInterval = TimeSpan.FromMilliseconds(Math.Max(50, jobs.QueuePollMilliseconds)),
            };
            return new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, storageOptions), storageOptions);
        });
        services.AddSingleton<JobActivator>(sp => new AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>()));
        services.AddHangfire(configuration => configuration
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings());
        services.AddAntiforgery();

        if (options.ServerEnabled || options.WorkerOnly)
        {
            services.AddHangfireServer((sp, server) =>
            {
                var jobs = sp.GetRequiredService<IOptions<JobsOptions>>().Value;
                server.WorkerCount = Math.Max(1, jobs.WorkerCount);
                server.SchedulePollingInterval = TimeSpan.FromMilliseconds(Math.Max(50, jobs.SchedulePollMilliseconds));
                server.ServerName = $"{Environment.MachineName}:{Environment.ProcessId}";
            });
            services.AddHostedService<RecurringJobsRegistration>();
        }

        if (options.WorkerOnly)
        {
            services.AddSingleton<IStartupFilter, WorkerOnlyStartupFilter>();
        }

        services.AddHealthChecks().AddCheck<JobStorageHealthCheck>("job-storage", tags: ["ready"]);
    }

    /// <summary>The dashboard at /hangfire for operators: the platform key (header, or as the password of a Basic login), never open.</summary>
    public static void MapJobsDashboard(this IEndpointRouteBuilder app)
    {
        var key = app.ServiceProvider.GetRequiredService<PlatformKey>();
        app.MapHangfireDashboard(DashboardPath, new DashboardOptions
        {
            Authorization = [],
            AsyncAuthorization = [new PlatformKeyDashboardAuthorization(key)],
            DashboardTitle = "Monolith jobs",
            DisplayStorageConnectionString = false,
            AppPath = "/docs",
        }, app.ServiceProvider.GetRequiredService<JobStorage>()).AllowAnonymous().ExcludeFromDescription();
    }

    /// <summary>Registers (or updates) every module's recurring jobs when this process runs a Hangfire server.</summary>
    private sealed class RecurringJobsRegistration(IRecurringJobManager recurring, IEnumerable<IRecurringJobSchedule> schedules) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            foreach (var schedule in schedules)
            {
                schedule.Register(recurring);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>A worker-only process answers nothing but its health endpoints and its metrics (its jobs' outcomes are counted there).</summary>
    private sealed class WorkerOnlyStartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                if (context.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase)
                    || context.Request.Path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase))
                {
                    await nextMiddleware(context);
                    return;
                }

                context.Response.StatusCode = StatusCodes.Status404NotFound;
            });
            next(app);
        };
    }

    private sealed class JobStorageHealthCheck(PlatformDatabase database) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using var command = database.DataSource.CreateCommand("SELECT to_regclass('hangfire.job') IS NOT NULL");
                return (bool)(await command.ExecuteScalarAsync(cancellationToken))!
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy("The job storage is not installed yet.");
            }
            catch (Npgsql.NpgsqlException)
            {
                return HealthCheckResult.Unhealthy("The job storage cannot be reached.");
            }
        }
    }
}
