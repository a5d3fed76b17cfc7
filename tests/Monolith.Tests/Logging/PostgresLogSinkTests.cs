using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Monolith.Auditing.Logging;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tests.Support;
using Npgsql;
using Serilog;
using Serilog.Context;

namespace Monolith.Tests.Logging;

/// <summary>The sink against the run's real PostgreSQL (the host has applied the platform scripts).</summary>
[Trait("Category", Categories.Integration)]
public sealed class PostgresLogSinkTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    public override Task InitializeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Events_are_written_with_their_tenant_user_and_request_ids_and_properties()
    {
        var marker = Marker();
        var stats = new LogSinkStats();
        using (var logger = SinkLogger(Fixture.ConnectionString, stats, new RecordingFallback()))
        using (LogContext.PushProperty("Tenant", "alpha"))
        using (LogContext.PushProperty("UserId", "0199a0aa-0000-7000-8000-000000000001"))
        using (LogContext.PushProperty("RequestId", "req-" + marker))
        {
            logger.Warning("Order {Marker} shipped {Count} items to {@Address}", marker, 3, new { City = "Berlin", Zip = "10115" });
        }

        var row = (await LogTable.RowsAsync(Fixture.ConnectionString, "template LIKE 'Order %' AND properties->>'Marker' = @m", ("m", marker))).Single();
        Assert.Equal("warning", row.Level);
        Assert.Equal($"Order {marker} shipped 3 items to {{ City: \"Berlin\", Zip: \"10115\" }}", row.Message);
        Assert.Equal(("alpha", "0199a0aa-0000-7000-8000-000000000001", "req-" + marker), (row.Tenant, row.UserId, row.RequestId));
        Assert.Equal(3, row.Properties.GetProperty("Count").GetInt32());
        Assert.Equal("Berlin", row.Properties.GetProperty("Address").GetProperty("City").GetString());
        Assert.Equal(TimeSpan.Zero, row.Time.Offset);
        Assert.Equal((1, 0, 0L), (stats.Written, stats.FellBack, stats.QueueDepth));
    }

    [Fact]
    public async Task Nul_bytes_and_line_breaks_do_not_break_a_batch()
    {
        var marker = Marker();
        using (var logger = SinkLogger(Fixture.ConnectionString, new LogSinkStats(), new RecordingFallback()))
        {
            logger.Information("Nul {Marker} {Value}", marker, "bad\0value\r\nforged line");
            logger.Information("Nul {Marker} plain", marker);
        }

        var rows = await LogTable.RowsAsync(Fixture.ConnectionString, "properties->>'Marker' = @m", ("m", marker));
        Assert.Equal(2, rows.Count);
        var odd = rows.Single(r => r.Template.Contains("{Value}", StringComparison.Ordinal));
        Assert.Equal($"Nul {marker} badvalue\\r\\nforged line", odd.Message);
        Assert.Equal("badvalue\\r\\nforged line", odd.Properties.GetProperty("Value").GetString());
    }

    [Fact]
    public async Task Disposing_the_logger_flushes_every_queued_event()
    {
        var marker = Marker();
        var stats = new LogSinkStats();
        var options = new PostgresLogOptions { PeriodMilliseconds = 3_600_000, BatchSize = 400 };
        using (var logger = new LoggerConfiguration().WriteTo.Postgres(Fixture.ConnectionString, options, stats, new RecordingFallback()).CreateLogger())
        {
            for (var i = 0; i < 1000; i++)
            {
                logger.Information("Flush {Marker} {I}", marker, i);
            }
        }

        Assert.Equal(1000, await LogTable.CountAsync(Fixture.ConnectionString, "properties->>'Marker' = @m", ("m", marker)));
        Assert.Equal((1000L, 0L), (stats.Written, stats.QueueDepth));
    }

    [Fact]
    public void With_the_database_unreachable_logging_never_throws_and_the_fallback_receives_every_event()
    {
        var fallback = new RecordingFallback();
        var stats = new LogSinkStats();
        using (var logger = SinkLogger(UnreachableDatabase, stats, fallback))
        {
            for (var i = 0; i < 50; i++)
            {
                logger.Error("Lost {I} with {Password}", i, "hunter2");
            }
        }

        Assert.Equal(50, fallback.Rows.Count);
        Assert.All(fallback.Rows, row => Assert.DoesNotContain("hunter2", row.ToJsonLine(), StringComparison.Ordinal));
        Assert.Equal((0L, 50L, 0L), (stats.Written, stats.FellBack, stats.QueueDepth));
        Assert.True(stats.FailedBatches >= 1);
    }

    [Fact]
    public void A_full_queue_drops_and_counts_instead_of_blocking_the_caller()
    {
        var stats = new LogSinkStats();
        var options = new PostgresLogOptions { QueueLimit = 10, PeriodMilliseconds = 3_600_000, BatchSize = 1000 };
        using (var logger = new LoggerConfiguration().WriteTo.Postgres(UnreachableDatabase, options, stats, new RecordingFallback()).CreateLogger())
        {
            for (var i = 0; i < 25; i++)
            {
                logger.Information("Burst {I}", i);
            }

            Assert.Equal((10L, 15L), (stats.QueueDepth, stats.Dropped));
        }
    }

    [Fact]
    public async Task The_host_writes_its_events_masked_with_the_tenant_user_and_request_of_the_operation()
    {
        var marker = Marker();
        var alpha = await Fixture.Service<TenantCatalog>().FindAsync(MonolithFixture.Alpha, CancellationToken.None);
        var userId = Guid.CreateVersion7();
        var logger = Fixture.Service<ILoggerFactory>().CreateLogger("Monolith.Tests.Logging");
        using (Fixture.Service<TenantContext>().Enter(alpha!))
        using (OperationContext.Begin(new OperationContext { RequestId = "req-" + marker, ActorId = userId, ActorKind = ActorKinds.User }))
        {
#pragma warning disable CA1848, CA2254 // a test of what the host does with an ordinary logging call
            logger.LogWarning("Host {Marker} connecting with {ConnectionString} for {Email} sent {Authorization} and {Body}",
                marker, "Host=db;Username=app;Password=hunter2", "jane@example.com", "Bearer tok-abcdef123456", "{\"password\":\"hunter2\"}");
#pragma warning restore CA1848, CA2254
        }

        var row = (await LogTable.WaitForRowsAsync(Fixture.ConnectionString, "properties->>'Marker' = @m", ("m", marker))).Single();
        Assert.Equal(("alpha", userId.ToString(), "req-" + marker), (row.Tenant, row.UserId, row.RequestId));
        foreach (var secret in new[] { "hunter2", "tok-abcdef123456", "jane@example.com" })
        {
            Assert.DoesNotContain(secret, row.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, row.Properties.GetRawText(), StringComparison.Ordinal);
        }

        Assert.Equal("j***@example.com", row.Properties.GetProperty("Email").GetString());
    }

    [Fact]
    public async Task A_host_whose_log_database_is_down_keeps_serving_and_writes_the_fallback_file_and_a_healthy_one_flushes_at_shutdown()
    {
        var fallbackFile = Path.Combine(Path.GetTempPath(), $"monolith-log-fallback-{Guid.NewGuid():N}.jsonl");
        var requestId = "down-" + Marker();
        LogSinkStats downStats, upStats;
        await using (var down = new MonolithFactory(Fixture.Connections, new Dictionary<string, string?>
                     {
                         ["Logging:Postgres:ConnectionString"] = UnreachableDatabase,
                         ["Logging:Postgres:FallbackPath"] = fallbackFile,
                         ["Serilog:MinimumLevel:Default"] = "Information",
                     }))
        {
            downStats = down.Services.GetRequiredService<LogSinkStats>();
            var queued = downStats.Enqueued;
            using var request = new HttpRequestMessage(HttpMethod.Get, "/health/live");
            request.Headers.Add("X-Request-Id", requestId);
            Assert.Equal(HttpStatusCode.OK, (await down.CreateClient().SendAsync(request)).StatusCode);
            await RequestLinesLoggedAsync(down, before: queued, requests: 1);
        }

        await StoppedAsync(downStats);

        try
        {
            Assert.Contains(File.ReadLines(fallbackFile), line => line.Contains(requestId, StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(fallbackFile);
        }

        var upRequestId = "up-" + Marker();
        await using (var up = new MonolithFactory(Fixture.Connections, new Dictionary<string, string?>
                     {
                         ["Serilog:MinimumLevel:Default"] = "Information",
                         ["Logging:Postgres:PeriodMilliseconds"] = "3600000",
                     }))
        {
            upStats = up.Services.GetRequiredService<LogSinkStats>();
            var upQueued = upStats.Enqueued;
            using var request = new HttpRequestMessage(HttpMethod.Get, "/health/live?token=supersecret-query-token");
            request.Headers.Add("X-Request-Id", upRequestId);
            request.Headers.Add("Authorization", "Bearer supersecret-bearer-token");
            Assert.Equal(HttpStatusCode.OK, (await up.CreateClient().SendAsync(request)).StatusCode);

            using var tenantRequest = new HttpRequestMessage(HttpMethod.Get, "/settings");
            tenantRequest.Headers.Add("X-Request-Id", upRequestId + "-tenant");
            tenantRequest.Headers.Add("X-Tenant", MonolithFixture.Alpha);
            await up.CreateClient().SendAsync(tenantRequest);
            await RequestLinesLoggedAsync(up, before: upQueued, requests: 2);
        }

        await StoppedAsync(upStats);

        // The batching period is an hour: the request's line is in the table only because shutdown flushed it.
        var row = (await LogTable.RowsAsync(Fixture.ConnectionString, "request_id = @r", ("r", upRequestId))).Single();
        Assert.StartsWith("HTTP GET /health/live responded 200", row.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("supersecret", row.Message + row.Properties.GetRawText(), StringComparison.Ordinal);
        var tenantRow = (await LogTable.RowsAsync(Fixture.ConnectionString, "request_id = @r", ("r", upRequestId + "-tenant"))).Single();
        Assert.Equal(MonolithFixture.Alpha, tenantRow.Tenant);
    }

    [Fact]
    [Trait("Category", Categories.Security)]
    public async Task A_tenant_connection_cannot_read_or_write_the_logs()
    {
        var alpha = await Fixture.Service<TenantCatalog>().FindAsync(MonolithFixture.Alpha, CancellationToken.None);
        using var scope = Fixture.Service<TenantContext>().Enter(alpha!);
        foreach (var sql in new[] { "SELECT count(*) FROM logs.events", "DELETE FROM logs.events", "SELECT logs.ensure_partitions(current_date, 1)" })
        {
            await using var session = await Fixture.Service<TenantDatabase>().BeginAsync();
            await using var command = session.Command(sql);
            var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync());
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
        }
    }

    [Fact]
    public async Task Partitions_exist_ahead_and_creating_one_moves_its_rows_out_of_the_default_partition()
    {
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(400 + Random.Shared.Next(1000));
        var marker = Marker();
        await LogTable.InsertAsync(Fixture.ConnectionString, day.ToDateTime(new TimeOnly(12, 0), DateTimeKind.Utc), null, marker);
        Assert.Equal("events_default", await LogTable.PartitionOfAsync(Fixture.ConnectionString, marker));

        await using (var connection = new NpgsqlConnection(Fixture.Connections.Owner))
        {
            await connection.OpenAsync();
            await using var ensure = new NpgsqlCommand("SELECT logs.ensure_partitions($1, 1)", connection);
            ensure.Parameters.AddWithValue(day);
            Assert.Equal(1, await ensure.ExecuteScalarAsync());
        }

        Assert.Equal($"events_p{day:yyyyMMdd}", await LogTable.PartitionOfAsync(Fixture.ConnectionString, marker));
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var days = (await Fixture.Service<LogPartitions>().ListDaysAsync(CancellationToken.None)).Select(p => p.Day).ToHashSet();
        Assert.Subset(days, new HashSet<DateOnly> { today, today.AddDays(1), today.AddDays(2) });
    }

    /// <summary>
    /// The request line is written after the response has gone to the client: before stopping a host, wait (at most 10 s)
    /// until its sink has received the lines, or stopping could race them.
    /// </summary>
    private static async Task RequestLinesLoggedAsync(MonolithFactory host, long before, int requests)
    {
        var stats = host.Services.GetRequiredService<LogSinkStats>();
        for (var attempt = 0; attempt < 100 && stats.Enqueued + stats.Dropped < before + requests; attempt++)
        {
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// The test host disposes the application's services on the application's own thread, after the factory's disposal
    /// returns: wait (at most 15 s) until the sink's queue is empty, which with an hour's batching period only the flush at
    /// disposal can achieve.
    /// </summary>
    private static async Task StoppedAsync(LogSinkStats stats)
    {
        for (var attempt = 0; attempt < 150 && stats.QueueDepth > 0; attempt++)
        {
            await Task.Delay(100);
        }
    }

    internal const string UnreachableDatabase = "Host=127.0.0.1;Port=1;Username=nobody;Password=x;Database=none;Timeout=2";

    internal static string Marker() => Guid.NewGuid().ToString("N")[..16];

    private static Serilog.Core.Logger SinkLogger(string connectionString, LogSinkStats stats, ILogFallback fallback) =>
        new LoggerConfiguration().MinimumLevel.Verbose().Enrich.FromLogContext().MaskSecrets()
            .WriteTo.Postgres(connectionString, new PostgresLogOptions { PeriodMilliseconds = 50 }, stats, fallback)
            .CreateLogger();
}

internal sealed class RecordingFallback : ILogFallback
{
    private readonly List<LogRow> rows = [];

    public IReadOnlyList<LogRow> Rows
    {
        get
        {
            lock (rows)
            {
                return rows.ToArray();
            }
        }
    }

    public void Write(IReadOnlyList<LogRow> batch)
    {
        lock (rows)
        {
            rows.AddRange(batch);
        }
    }
}

internal sealed record StoredLogRow(Guid Id, DateTimeOffset Time, string Level, string Message, string Template, string? Exception,
    string? Tenant, string? UserId, string? RequestId, JsonElement Properties);

/// <summary>Reads and seeds <c>logs.events</c> through the superuser connection.</summary>
internal static class LogTable
{
    public static async Task<IReadOnlyList<StoredLogRow>> RowsAsync(string connectionString, string condition, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT id, time, level, message, template, exception, tenant, user_id, request_id, properties::text FROM logs.events WHERE {condition} ORDER BY time, id",
            connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        var rows = new List<StoredLogRow>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new StoredLogRow(reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), reader.GetString(3),
                reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8),
                JsonDocument.Parse(reader.GetString(9)).RootElement.Clone()));
        }

        return rows;
    }

    /// <summary>For events written by a running host (batched every second): polls until some are there, for at most 15 s.</summary>
    public static async Task<IReadOnlyList<StoredLogRow>> WaitForRowsAsync(string connectionString, string condition, params (string Name, object Value)[] parameters)
    {
        for (var attempt = 0; ; attempt++)
        {
            var rows = await RowsAsync(connectionString, condition, parameters);
            if (rows.Count > 0 || attempt == 150)
            {
                return rows;
            }

            await Task.Delay(100);
        }
    }

    public static async Task<long> CountAsync(string connectionString, string condition, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM logs.events WHERE {condition}", connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Inserts one row directly (as old as the test needs); the marker goes into the message and properties.</summary>
    public static async Task<Guid> InsertAsync(string connectionString, DateTime utcTime, string? tenant, string marker, string level = "information")
    {
        var id = Guid.CreateVersion7(new DateTimeOffset(utcTime, TimeSpan.Zero));
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO logs.events (id, time, level, message, template, tenant, user_id, request_id, properties)
            VALUES ($1, $2, $3, $4, 'Seeded {Marker}', $5, NULL, NULL, jsonb_build_object('Marker', $6::text))
            """, connection);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(new DateTimeOffset(utcTime, TimeSpan.Zero));
        command.Parameters.AddWithValue(level);
        command.Parameters.AddWithValue($"Seeded {marker}");
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)tenant ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.AddWithValue(marker);
        await command.ExecuteNonQueryAsync();
        return id;
    }

    public static async Task<string?> PartitionOfAsync(string connectionString, string marker)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT tableoid::regclass::text FROM logs.events WHERE properties->>'Marker' = $1", connection);
        command.Parameters.AddWithValue(marker);
        var name = (string?)await command.ExecuteScalarAsync();
        return name?.Replace("logs.", string.Empty, StringComparison.Ordinal);
    }
}
