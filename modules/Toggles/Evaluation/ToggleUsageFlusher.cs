using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy;

namespace Monolith.Toggles.Evaluation;

/// <summary>
/// Writes which toggles this instance evaluated to <c>feature_toggle_usage</c> every
/// <see cref="TogglesOptions.UsageFlushSeconds"/> (and on shutdown), so the stale report knows toggles
/// still in use. Evaluation only sets a flag on the cached rule: the hot path stays allocation-free.
/// </summary>
internal sealed partial class ToggleUsageFlusher(
    ToggleCache cache,
    ToggleStore store,
    TenantContext tenants,
    IOptions<TogglesOptions> options,
    ILogger<ToggleUsageFlusher> logger) : BackgroundService
{
    // Never disposed: the host may dispose this service while a shutdown flush that outlived its stop timeout still holds
    // the gate, and releasing a disposed semaphore would throw there. It holds no wait handle, so nothing leaks.
    private readonly SemaphoreSlim flushing = new(1, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Value.UsageFlushSeconds)));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down: flushed in StopAsync
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(cancellationToken);
    }

    /// <summary>
    /// Records every tenant's evaluated keys; a tenant that fails is logged and skipped (its marks are lost, not retried).
    /// Flushes run one at a time, so when this returns every mark taken before it was called is written, even if the
    /// periodic flush took them.
    /// </summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        await flushing.WaitAsync(ct);
        try
        {
            await FlushTakenAsync(ct);
        }
        finally
        {
            flushing.Release();
        }
    }

    private async Task FlushTakenAsync(CancellationToken ct)
    {
        foreach (var (tenant, keys) in cache.TakeUsage())
        {
            try
            {
                using var scope = tenants.Enter(tenant);
                using var operation = OperationContext.Begin(new OperationContext { ActorKind = ActorKinds.Job, ActorName = "toggle-usage" });
                await store.RecordUsageAsync(keys, ct);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException or TimeoutException)
            {
                LogFlushFailed(logger, tenant.Identifier, e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record toggle usage for tenant {Tenant}")]
    private static partial void LogFlushFailed(ILogger logger, string tenant, Exception exception);
}
