using System.Diagnostics.Metrics;
using Monolith.Tenancy;
using Npgsql;
using NpgsqlTypes;
using Serilog.Core;
using Serilog.Debugging;
using Serilog.Events;

namespace Monolith.Auditing.Logging;

public sealed class PostgresLogOptions
{
    public const string Section = "Logging:Postgres";

    /// <summary>Write application logs to <c>logs.events</c> (on by default).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Another database for the logs; unset: <c>ConnectionStrings:Monolith</c>.</summary>
    public string? ConnectionString { get; set; }

    public int BatchSize { get; set; } = 1000;

    /// <summary>The longest an event waits in the queue before its batch is written.</summary>
    public int PeriodMilliseconds { get; set; } = 1000;

    /// <summary>Events waiting beyond this are dropped (and counted), so logging never holds the application back.</summary>
    public int QueueLimit { get; set; } = 100_000;

    /// <summary>After a failed write, batches go straight to the fallback for this long before the database is tried again.</summary>
    public int RetryAfterSeconds { get; set; } = 5;

    /// <summary>A file for the events that could not be written to the database (JSON lines); unset: standard error.</summary>
    public string? FallbackPath { get; set; }

    public LogEventLevel MinimumLevel { get; set; } = LogEventLevel.Verbose;
}

/// <summary>
/// The sink's counters, also published as System.Diagnostics.Metrics instruments on Auditing's meter
/// (<see cref="AuditingModule.MeterName"/>): <c>monolith.logs.queued</c> (gauge), <c>monolith.logs.written</c>,
/// <c>monolith.logs.fallback</c>, <c>monolith.logs.dropped</c>, <c>monolith.logs.failed_batches</c>.
/// </summary>
public sealed class LogSinkStats : IDisposable
{
    private readonly Meter meter;
    private readonly bool ownsMeter;
    private long enqueued;
    private long written;
    private long fellBack;
    private long dropped;
    private long lost;
    private long failedBatches;

    /// <summary>Stats with a meter of their own (the benchmark's sinks).</summary>
    public LogSinkStats()
        : this(new Meter(AuditingModule.MeterName), ownsMeter: true)
    {
    }

    /// <summary>The host's stats, on the meter its OpenTelemetry reads.</summary>
    public LogSinkStats(IMeterFactory meters)
        : this((meters ?? throw new ArgumentNullException(nameof(meters))).Create(AuditingModule.MeterName), ownsMeter: false)
    {
    }

    private LogSinkStats(Meter meter, bool ownsMeter)
    {
        this.meter = meter;
        this.ownsMeter = ownsMeter;
        meter.CreateObservableGauge("monolith.logs.queued", () => QueueDepth, "{event}", "Events accepted by the PostgreSQL sink and not yet written");
        meter.CreateObservableCounter("monolith.logs.written", () => Written, "{event}", "Events written to logs.events");
        meter.CreateObservableCounter("monolith.logs.fallback", () => FellBack, "{event}", "Events written to the fallback because the database was unreachable");
        meter.CreateObservableCounter("monolith.logs.dropped", () => Dropped, "{event}", "Events lost: the queue was full or the fallback failed too");
        meter.CreateObservableCounter("monolith.logs.failed_batches", () => FailedBatches, "{batch}", "Batches the database refused or could not take");
    }

    public long Enqueued => Interlocked.Read(ref enqueued);

    public long Written => Interlocked.Read(ref written);

    public long FellBack => Interlocked.Read(ref fellBack);

    /// <summary>Dropped at the full queue plus lost when the fallback failed as well.</summary>
    public long Dropped => Interlocked.Read(ref dropped) + Interlocked.Read(ref lost);

    public long FailedBatches => Interlocked.Read(ref failedBatches);

    /// <summary>Events accepted and not yet written anywhere.</summary>
    public long QueueDepth => Enqueued - Written - FellBack - Interlocked.Read(ref lost);

    internal void OnEnqueued() => Interlocked.Increment(ref enqueued);

    internal void OnDropped() => Interlocked.Increment(ref dropped);

    internal void OnWritten(int count) => Interlocked.Add(ref written, count);

    internal void OnFellBack(int count) => Interlocked.Add(ref fellBack, count);

    internal void OnLost(int count) => Interlocked.Add(ref lost, count);

    internal void OnFailedBatch() => Interlocked.Increment(ref failedBatches);

    public void Dispose()
    {
        if (ownsMeter)
        {
            meter.Dispose();
        }
    }
}

/// <summary>Where events go while the database cannot take them. Never throws.</summary>
public interface ILogFallback
{
    void Write(IReadOnlyList<LogRow> rows);
}

/// <summary>JSON lines on a text writer (standard error by default), or appended to a file.</summary>
public sealed class TextLogFallback : ILogFallback
{
    private readonly Lock gate = new();
    private readonly TextWriter? writer;
    private readonly string? path;

    public TextLogFallback(TextWriter writer) => this.writer = writer;

    private TextLogFallback(string path) => this.path = path;

    public static TextLogFallback ToFile(string path) => new(path);

    public void Write(IReadOnlyList<LogRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        lock (gate)
        {
            if (writer is not null)
            {
                foreach (var row in rows)
                {
                    writer.WriteLine(row.ToJsonLine());
                }

                writer.Flush();
                return;
            }

            File.AppendAllLines(path!, rows.Select(r => r.ToJsonLine()));
        }
    }
}

/// <summary>
/// Serilog 4 batched sink into <c>logs.events</c> by binary COPY. Never throws into the logging pipeline: a
/// batch the database does not take goes to the <see cref="ILogFallback"/>, and for
/// <see cref="PostgresLogOptions.RetryAfterSeconds"/> afterwards batches go straight there instead of waiting on
/// connection timeouts. Disposing it (the batching wrapper does so after flushing the queue) releases its pool.
/// </summary>
public sealed class PostgresLogSink : IBatchedLogEventSink, IDisposable, IAsyncDisposable
{
    public const string CopyCommand =
        "COPY logs.events (id, time, level, message, template, exception, tenant, user_id, request_id, properties) FROM STDIN (FORMAT BINARY)";

    private readonly NpgsqlDataSource dataSource;
    private readonly ILogFallback fallback;
    private readonly LogSinkStats stats;
    private readonly TimeProvider time;
    private readonly TimeSpan retryAfter;
    private DateTimeOffset databaseRetryAt = DateTimeOffset.MinValue;

    public PostgresLogSink(string connectionString, ILogFallback fallback, LogSinkStats stats, TimeSpan retryAfter, TimeProvider? time = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            // A small pool of its own: logging never competes with requests for connections, and gives up fast when the server is gone.
            MaxPoolSize = 2,
            Timeout = 3,
            CommandTimeout = 30,
            ApplicationName = "monolith-log-sink",
        };
        dataSource = PlatformDatabase.DataSourceBuilder(builder.ConnectionString, "log-sink").Build();
        this.fallback = fallback;
        this.stats = stats;
        this.retryAfter = retryAfter;
        this.time = time ?? TimeProvider.System;
    }

    public async Task EmitBatchAsync(IReadOnlyCollection<LogEvent> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var rows = new List<LogRow>(batch.Count);
        var consumed = new Progress();
        if (time.GetUtcNow() >= databaseRetryAt)
        {
            try
            {
                // Rows are made while the COPY streams: the server stores one part of the batch while the next is rendered.
                await CopyAsync(Convert(batch, rows, consumed));
                stats.OnWritten(rows.Count);
                return;
            }
#pragma warning disable CA1031 // the database being down or refusing the batch must never reach the application
            catch (Exception e)
#pragma warning restore CA1031
            {
                stats.OnFailedBatch();
                databaseRetryAt = time.GetUtcNow() + retryAfter;
                SelfLog.WriteLine("Log sink: writing {0} events to PostgreSQL failed ({1}); using the fallback for {2}.",
                    batch.Count, e.GetType().Name + ": " + LogMasker.MaskValue(e.Message), retryAfter);
            }
        }

        // COPY is all or nothing: every event of the batch goes to the fallback, those not yet converted too.
        foreach (var _ in Convert(batch.Skip(consumed.Count), rows, new Progress()))
        {
        }

        if (rows.Count > 0)
        {
            WriteToFallback(rows);
        }
    }

    public Task OnEmptyBatchAsync() => Task.CompletedTask;

    /// <summary>
    /// Writes rows by binary COPY, one statement per call. Public for the throughput benchmark. Values are written with the
    /// synchronous API: they go to Npgsql's buffer and only a full buffer touches the socket, and the per-value await costs
    /// more than that occasional blocking write on the batching thread.
    /// </summary>
    public async Task CopyAsync(IEnumerable<LogRow> rows, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var importer = await connection.BeginBinaryImportAsync(CopyCommand, ct);
        foreach (var row in rows)
        {
            importer.StartRow();
            importer.Write(row.Id, NpgsqlDbType.Uuid);
            importer.Write(row.Time, NpgsqlDbType.TimestampTz);
            importer.Write(row.Level, NpgsqlDbType.Text);
            importer.Write(row.Message, NpgsqlDbType.Text);
            importer.Write(row.Template, NpgsqlDbType.Text);
            WriteNullable(importer, row.Exception);
            WriteNullable(importer, row.Tenant);
            WriteNullable(importer, row.UserId);
            WriteNullable(importer, row.RequestId);
            importer.Write(row.Properties, NpgsqlDbType.Jsonb);
        }

        await importer.CompleteAsync(ct);
    }

    private static void WriteNullable(NpgsqlBinaryImporter importer, string? value)
    {
        if (value is null)
        {
            importer.WriteNull();
        }
        else
        {
            importer.Write(value, NpgsqlDbType.Text);
        }
    }

    private IEnumerable<LogRow> Convert(IEnumerable<LogEvent> events, List<LogRow> into, Progress progress)
    {
        foreach (var logEvent in events)
        {
            progress.Count++;
            LogRow row;
            try
            {
                row = LogRow.From(logEvent);
            }
#pragma warning disable CA1031 // one event that cannot be rendered must not cost the batch
            catch (Exception e)
#pragma warning restore CA1031
            {
                SelfLog.WriteLine("Log sink: an event could not be converted ({0}); it is dropped.", e.GetType().Name);
                stats.OnLost(1);
                continue;
            }

            into.Add(row);
            yield return row;
        }
    }

    private sealed class Progress
    {
        public int Count { get; set; }
    }

    private void WriteToFallback(List<LogRow> rows)
    {
        try
        {
            fallback.Write(rows);
            stats.OnFellBack(rows.Count);
        }
#pragma warning disable CA1031 // nowhere left to write: count the loss, never throw
        catch (Exception e)
#pragma warning restore CA1031
        {
            stats.OnLost(rows.Count);
            SelfLog.WriteLine("Log sink: the fallback failed too ({0}); {1} events lost.", e.GetType().Name, rows.Count);
        }
    }

    public void Dispose() => dataSource.Dispose();

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();
}

/// <summary>
/// In front of Serilog's batching sink: counts what goes in and drops (counting) what would exceed the queue
/// limit, so <see cref="ILogEventSink.Emit"/> never blocks the caller. Disposing it flushes the queue.
/// </summary>
internal sealed class BoundedLogQueue(ILogEventSink inner, LogSinkStats stats, int limit) : ILogEventSink, IDisposable, IAsyncDisposable
{
    public void Emit(LogEvent logEvent)
    {
        if (stats.QueueDepth >= limit)
        {
            stats.OnDropped();
            return;
        }

        stats.OnEnqueued();
        inner.Emit(logEvent);
    }

    public void Dispose() => (inner as IDisposable)?.Dispose();

    public ValueTask DisposeAsync()
    {
        if (inner is IAsyncDisposable asyncDisposable)
        {
            return asyncDisposable.DisposeAsync();
        }

        Dispose();
        return ValueTask.CompletedTask;
    }
}
