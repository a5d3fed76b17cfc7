using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Monolith.Tenancy.Bounds;

/// <summary>
/// At start, after the platform scripts, tries the measure the request pool's memory budget relies on
/// (docs/adr/0071). When the request role cannot read its backend's memory, the budget still holds, on its estimate per
/// schema, but backends end sooner than they need to: the operator is told why and what grants it.
/// </summary>
internal sealed partial class BackendMemoryCheck(PlatformDatabase database, ILogger<BackendMemoryCheck> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (database.BackendMemoryMegabytes == 0)
        {
            return;
        }

        await using var connection = await database.RequestDataSource.OpenConnectionAsync(cancellationToken);
        if (await PlatformDatabase.BackendMemoryBytesAsync(connection) is null)
        {
            LogUnmeasured(logger, database.BackendMemoryMegabytes, BackendMemoryBudget.WorstBytesPerSchema / 1024);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message =
        "The request role cannot measure its backends' memory (platform.backend_memory_bytes() answers nothing): the owner role needs EXECUTE on pg_get_backend_memory_contexts(), which build/sql/roles.sql grants. Until then a request backend ends once its schemas could fill Tenancy__BackendMemoryMegabytes ({Megabytes} MB) at {KilobytesPerSchema} kB each, whatever they hold.")]
    private static partial void LogUnmeasured(ILogger logger, int megabytes, long kilobytesPerSchema);
}
