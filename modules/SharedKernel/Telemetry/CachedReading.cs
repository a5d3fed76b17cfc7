namespace Monolith.SharedKernel.Telemetry;

/// <summary>
/// A database reading behind an observable gauge: read at most once per <paramref name="maxAge"/>, whatever the scrape
/// rate and however many exporters ask (Prometheus and OTLP). Gauge callbacks are synchronous, so a stale reading is
/// refreshed in the callback, bounded by a time limit; a failed read keeps the previous reading (none before the first).
/// </summary>
public sealed class CachedReading<T>(Func<CancellationToken, Task<T>> read, TimeSpan maxAge, TimeProvider? time = null)
    where T : class
{
    private static readonly TimeSpan ReadTimeLimit = TimeSpan.FromSeconds(2);
    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private readonly Lock gate = new();
    private T? value;
    private long readAt = long.MinValue;

    public T? Current
    {
        get
        {
            lock (gate)
            {
                if (readAt != long.MinValue && clock.GetElapsedTime(readAt) < maxAge)
                {
                    return value;
                }

                try
                {
                    using var timeout = new CancellationTokenSource(ReadTimeLimit);
                    value = Task.Run(() => read(timeout.Token), timeout.Token).GetAwaiter().GetResult();
                }
                catch (Exception e) when (e is OperationCanceledException or TimeoutException or System.Data.Common.DbException or InvalidOperationException)
                {
                    // Keep the previous reading; the next scrape after maxAge tries again.
                }

                readAt = clock.GetTimestamp();
                return value;
            }
        }
    }
}
