using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Monolith.Auditing.Retention;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy;
using Serilog;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;

namespace Monolith.Auditing.Logging;

/// <summary>
/// Application logs in PostgreSQL: the sink's options and counters, partition upkeep, the "logs" retention task
/// and <c>GET /platform/logs</c>. The host's Serilog configuration calls <see cref="MaskSecrets"/>,
/// <see cref="WithOperationContext"/> and <see cref="Postgres"/>.
/// </summary>
public static class LoggingModule
{
    public static IHostApplicationBuilder AddPostgresLogging(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<PostgresLogOptions>().Bind(builder.Configuration.GetSection(PostgresLogOptions.Section));
        builder.Services.AddSingleton(sp => new LogSinkStats(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        builder.Services.AddLogRetention();
        if (builder.Configuration.GetValue(PostgresLogOptions.Section + ":Enabled", true))
        {
            builder.Services.AddHostedService<LogPartitionMaintenance>();
        }

        return builder;
    }

    /// <summary>The "logs" retention task and what it needs, for any process that runs retention (host, worker, CLI).</summary>
    public static IServiceCollection AddLogRetention(this IServiceCollection services)
    {
        services.TryAddSingleton<LogPartitions>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRetentionTask, LogRetentionTask>());
        return services;
    }

    public static IEndpointRouteBuilder MapPlatformLogs(this IEndpointRouteBuilder app)
    {
        ListLogs.Map(app);
        return app;
    }

    /// <summary>Masking for every sink: the destructuring policy and, configured last, the masking enricher.</summary>
    public static LoggerConfiguration MaskSecrets(this LoggerConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.Destructure.With<MaskingDestructuringPolicy>().Enrich.With<MaskingEnricher>();
    }

    /// <summary>Tenant, user id and request id from the ambient contexts when the log context did not push them.</summary>
    public static LoggerConfiguration WithOperationContext(this LoggerEnrichmentConfiguration enrich)
    {
        ArgumentNullException.ThrowIfNull(enrich);
        return enrich.With<OperationContextEnricher>();
    }

    /// <summary>
    /// The PostgreSQL sink behind Serilog's batching (bounded queue, batch size, period), when enabled and a
    /// connection string is known. <paramref name="fallback"/> defaults to the configured file or standard error.
    /// </summary>
    public static LoggerConfiguration Postgres(this LoggerSinkConfiguration writeTo, IConfiguration configuration, LogSinkStats stats, ILogFallback? fallback = null)
    {
        ArgumentNullException.ThrowIfNull(writeTo);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = configuration.GetSection(PostgresLogOptions.Section).Get<PostgresLogOptions>() ?? new PostgresLogOptions();
        var connectionString = options.ConnectionString is { Length: > 0 } own ? own : configuration.GetConnectionString(TenancyModule.OwnerConnectionStringName) ?? configuration.GetConnectionString(TenancyModule.ConnectionStringName);
        if (!options.Enabled || string.IsNullOrEmpty(connectionString))
        {
            return writeTo.Sink(new NoSink());
        }

        return writeTo.Postgres(connectionString, options, stats, fallback);
    }

    /// <summary>The whole sink: a counting bounded queue, Serilog's batching, then COPY into <c>logs.events</c>.</summary>
    public static LoggerConfiguration Postgres(
        this LoggerSinkConfiguration writeTo, string connectionString, PostgresLogOptions options, LogSinkStats stats, ILogFallback? fallback = null)
    {
        ArgumentNullException.ThrowIfNull(writeTo);
        ArgumentNullException.ThrowIfNull(options);
        fallback ??= options.FallbackPath is { Length: > 0 } path ? TextLogFallback.ToFile(path) : new TextLogFallback(Console.Error);
        var sink = new PostgresLogSink(connectionString, fallback, stats, TimeSpan.FromSeconds(Math.Max(0, options.RetryAfterSeconds)));
        var batching = new BatchingOptions
        {
            BatchSizeLimit = Math.Max(1, options.BatchSize),
            BufferingTimeLimit = TimeSpan.FromMilliseconds(Math.Max(10, options.PeriodMilliseconds)),
            EagerlyEmitFirstEvent = false,
            // Our own limit (BoundedLogQueue) drops first; Serilog's stays above it so it never applies back-pressure.
            QueueLimit = Math.Max(1, options.QueueLimit) + (Math.Max(1, options.BatchSize) * 2),
        };
        var limit = Math.Max(1, options.QueueLimit);
        return writeTo.Sink(CreateSink(sink, batching, stats, limit), options.MinimumLevel);
    }

    internal static ILogEventSink CreateSink(PostgresLogSink sink, BatchingOptions batching, LogSinkStats stats, int limit) =>
        LoggerSinkConfiguration.Wrap(inner => new BoundedLogQueue(inner, stats, limit), to => to.Sink(sink, batching));

    private sealed class NoSink : ILogEventSink
    {
        public void Emit(LogEvent logEvent)
        {
        }
    }
}

/// <summary>
/// Adds <c>Tenant</c>, <c>UserId</c> and <c>RequestId</c> from the tenant and operation contexts when the log
/// context has not pushed them (events logged outside the middleware that pushes them, in jobs, in the CLI).
/// </summary>
internal sealed class OperationContextEnricher : ILogEventEnricher
{
    private static readonly TenantContext Tenants = new();

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        if (!logEvent.Properties.ContainsKey(LogRow.TenantProperty) && Tenants.Current is { } tenant)
        {
            logEvent.AddPropertyIfAbsent(new LogEventProperty(LogRow.TenantProperty, new ScalarValue(tenant.Identifier)));
        }

        if (OperationContext.Current is not { } operation)
        {
            return;
        }

        if (operation.ActorId is { } actor)
        {
            logEvent.AddPropertyIfAbsent(new LogEventProperty(LogRow.UserIdProperty, new ScalarValue(actor.ToString())));
        }

        if (operation.RequestId is { } requestId)
        {
            logEvent.AddPropertyIfAbsent(new LogEventProperty(LogRow.RequestIdProperty, new ScalarValue(requestId)));
        }
    }
}

/// <summary>Keeps today's and the next days' partitions in place: at start-up (once the host has started) and every hour.</summary>
internal sealed partial class LogPartitionMaintenance(
    LogPartitions partitions, IHostApplicationLifetime lifetime, Microsoft.Extensions.Logging.ILogger<LogPartitionMaintenance> logger, TimeProvider? time = null)
    : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);
    private static readonly TimeSpan RetryInterval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The platform scripts (which create the logs schema) run while the host starts.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        await using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        var clock = time ?? TimeProvider.System;
        while (!stoppingToken.IsCancellationRequested)
        {
            var next = Interval;
            try
            {
                await partitions.EnsureAheadAsync(clock.GetUtcNow(), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Npgsql.NpgsqlException e)
            {
                LogPartitionsFailed(logger, e.GetType().Name, RetryInterval);
                next = RetryInterval;
            }

            try
            {
                await Task.Delay(next, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "Creating the log partitions ahead failed ({Error}); retrying in {Delay}")]
    private static partial void LogPartitionsFailed(Microsoft.Extensions.Logging.ILogger logger, string error, TimeSpan delay);
}

internal static class OptionsExtensions
{
    public static int DefaultLogRetentionDays(this IOptions<TenancyOptions> options) => Math.Max(1, options.Value.DefaultLogRetentionDays);
}
