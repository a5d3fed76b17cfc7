using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Monolith.Tenancy.Catalog;

/// <summary>
/// Keeps <see cref="TenantCatalogCache"/> true on this instance when another instance changes the catalog:
/// LISTEN for the identifiers the catalog trigger notifies, and poll the catalog's change counter as a
/// fallback so that a lost notification or a dropped connection costs at most one poll interval.
/// </summary>
internal sealed partial class CatalogChangeListener(
    PlatformDatabase database,
    TenantCatalogCache cache,
    IOptions<TenancyOptions> options,
    ILogger<CatalogChangeListener> logger) : BackgroundService
{
    public const string Channel = "monolith_tenants";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pollInterval = TimeSpan.FromMilliseconds(Math.Max(100, options.Value.CatalogPollMilliseconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await database.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => cache.Invalidate(e.Payload);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Whatever changed while nobody listened is unknown: start clean.
                cache.Clear();
                var seen = await ReadChangeCounterAsync(connection, stoppingToken);
                while (!stoppingToken.IsCancellationRequested)
                {
                    if (await connection.WaitAsync(pollInterval, stoppingToken))
                    {
                        continue; // a notification was handled by the event above
                    }

                    var current = await ReadChangeCounterAsync(connection, stoppingToken);
                    if (current != seen)
                    {
                        cache.Clear();
                        seen = current;
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                cache.Clear();
                LogListenerDown(logger, e);
                await Task.Delay(pollInterval, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private static async Task<long> ReadChangeCounterAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END FROM platform.catalog_changes", connection);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant catalog listener lost its connection; cache cleared, reconnecting")]
    private static partial void LogListenerDown(ILogger logger, Exception exception);
}
