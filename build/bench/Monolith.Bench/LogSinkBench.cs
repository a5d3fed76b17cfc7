using System.Diagnostics;
using Monolith.Auditing.Logging;
using Serilog;

namespace Monolith.Bench;

/// <summary>
/// Throughput of the PostgreSQL log sink into <c>logs.events</c>: COPY alone (rows made beforehand, batches of the
/// sink's default size, one statement at a time as the sink writes them), then end to end (Serilog logger → masking
/// → bounded queue → batching → COPY) with the host's default options, the producer held back below the queue limit
/// so nothing is dropped: the sustained rate the sink drains.
/// </summary>
internal static class LogSinkBench
{
    public static async Task<int> RunAsync(string connectionString, int events)
    {
        var options = new PostgresLogOptions();
        await CopyOnlyAsync(connectionString, events, options.BatchSize);
        return await EndToEndAsync(connectionString, events, options);
    }

    private static async Task CopyOnlyAsync(string connectionString, int events, int batchSize)
    {
        using var stats = new LogSinkStats();
        await using var sink = new PostgresLogSink(connectionString, new TextLogFallback(Console.Error), stats, TimeSpan.FromSeconds(5));
        var start = DateTimeOffset.UtcNow;
        var rows = new LogRow[events];
        for (var i = 0; i < events; i++)
        {
            var id = Guid.CreateVersion7();
            rows[i] = new LogRow(id, start.AddTicks(i), "information", $"Customer \"{id}\" created by \"c***@example.com\" in 12.5 ms",
                "Customer {CustomerId} created by {Email} in {Elapsed} ms", null, "bench", "0190f3e2-7c1a-7d1e-8a3b-1c2d3e4f5a6b", "0HN7:00000001",
                $$"""{"CustomerId":"{{id}}","Email":"c***@example.com","Elapsed":12.5,"SourceContext":"Monolith.Customers"}""");
        }

        await sink.CopyAsync(rows.Take(batchSize)); // warm-up: connection, type loading (its rows are not counted)
        var watch = Stopwatch.StartNew();
        for (var offset = batchSize; offset < events; offset += batchSize)
        {
            await sink.CopyAsync(new ArraySegment<LogRow>(rows, offset, Math.Min(batchSize, events - offset)));
        }

        watch.Stop();
        var copied = events - batchSize;
        Console.WriteLine($"log sink COPY only: {copied:N0} rows in batches of {batchSize} in {watch.Elapsed.TotalSeconds:0.00} s = {copied / watch.Elapsed.TotalSeconds:N0} events/s");
    }

    private static async Task<int> EndToEndAsync(string connectionString, int events, PostgresLogOptions options)
    {
        using var stats = new LogSinkStats();
        var logger = new LoggerConfiguration()
            .MinimumLevel.Verbose()
            .Enrich.WithOperationContext()
            .MaskSecrets()
            .WriteTo.Postgres(connectionString, options, stats)
            .CreateLogger();
        var log = logger.ForContext("SourceContext", "Monolith.Customers").ForContext(LogRow.TenantProperty, "bench");
        var highWater = options.QueueLimit / 2;
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < events; i++)
        {
            while (stats.QueueDepth >= highWater)
            {
                Thread.Sleep(1);
            }

            // An e-mail in a property and a secret-looking value: both go through the masking enricher.
            log.Information("Customer {CustomerId} created by {Email} in {Elapsed} ms with {Token}", Guid.CreateVersion7(), $"user{i}@example.com", 12.5, "Bearer abc.def.ghi");
        }

        while (stats.Written + stats.FellBack + stats.Dropped < events)
        {
            await Task.Delay(5);
        }

        watch.Stop();
        await logger.DisposeAsync();
        Console.WriteLine($"log sink end to end (logger → masking → batching → COPY, batch {options.BatchSize}): {stats.Written:N0} events written in {watch.Elapsed.TotalSeconds:0.00} s = {stats.Written / watch.Elapsed.TotalSeconds:N0} events/s (fallback {stats.FellBack}, dropped {stats.Dropped})");
        return stats.Written == events ? 0 : 1;
    }
}
