using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tenancy;
using Monolith.Tests.Access;
using Monolith.Tests.Customers;
using Monolith.Tests.Support;
using Npgsql;
using Serilog.Core;
using Serilog.Events;

namespace Monolith.Tests.Host;

/// <summary>
/// A client that disconnects mid-request is logged as a client abort (Information, status 499), never as a 500
/// error. The request is held on a row lock taken behind the API's back, then the client cancels it.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class ClientAbortTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task A_client_that_disconnects_mid_request_is_logged_as_a_client_abort_not_as_a_500()
    {
        var logs = new KeptEvents();
        await using var factory = new MonolithFactory(
            Fixture.Connections,
            new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Information" },
            services => services.AddSingleton<ILogEventSink>(logs));
        var tokens = await factory.LoginAsync(MonolithFixture.Alpha, MonolithFixture.OwnerEmail(MonolithFixture.Alpha), MonolithFixture.OwnerPassword);
        var client = factory.TenantClient(MonolithFixture.Alpha).WithBearer(tokens.AccessToken);
        var created = await client.PostAsJsonAsync("/customers", CustomerBuilder.Customer(name: "Locked"));
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        await using var locker = new NpgsqlConnection(Fixture.ConnectionString);
        await locker.OpenAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand(
            $"SELECT 1 FROM \"{TenantIdentifier.SchemaNameOf(MonolithFixture.Alpha)}\".customers WHERE id = $1 FOR UPDATE", locker, transaction))
        {
            lockRow.Parameters.AddWithValue(id);
            await lockRow.ExecuteScalarAsync();
        }

        var requestId = "abort-" + Guid.NewGuid().ToString("N");
        using var patch = new HttpRequestMessage(HttpMethod.Patch, $"/customers/{id}") { Content = JsonContent.Create(new { name = "Changed" }) };
        patch.Headers.Add("X-Request-Id", requestId);
        using var cancel = new CancellationTokenSource();
        var sending = client.SendAsync(patch, cancel.Token);
        await WaitUntilBlockedOnALockAsync(locker);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);

        var requestLine = await logs.EventuallyAsync(e => Is(e, "RequestId", requestId) && e.Properties.ContainsKey("StatusCode"));
        await transaction.RollbackAsync();

        Assert.Equal(LogEventLevel.Information, requestLine.Level);
        Assert.Equal("499", requestLine.Properties["StatusCode"].ToString());
        // By path, not request id: events written through ILogger carry ASP.NET Core's own RequestId from its hosting scope.
        var ofThisRequest = logs.Events.Where(e => Is(e, "RequestPath", $"/customers/{id}")).ToList();
        Assert.Contains(ofThisRequest, e => e.Level == LogEventLevel.Information && e.MessageTemplate.Text.StartsWith("Client aborted", StringComparison.Ordinal));
        Assert.DoesNotContain(ofThisRequest, e => e.Level >= LogEventLevel.Error);
        Assert.DoesNotContain(logs.Events, e => e.Level >= LogEventLevel.Error && e.Exception is OperationCanceledException);
    }

    private static bool Is(LogEvent logEvent, string property, string value) =>
        logEvent.Properties.TryGetValue(property, out var found) && found is ScalarValue { Value: string text } && text == value;

    /// <summary>Until another backend waits for a lock (the PATCH, queued behind the test's row lock).</summary>
    private static async Task WaitUntilBlockedOnALockAsync(NpgsqlConnection locker)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            await using var command = new NpgsqlCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()", locker);
            if ((long)(await command.ExecuteScalarAsync())! > 0)
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("the PATCH never waited on the row lock");
    }

    /// <summary>Every event of the host, kept as it is (level, template, properties).</summary>
    private sealed class KeptEvents : ILogEventSink
    {
        private readonly ConcurrentQueue<LogEvent> events = new();

        public IReadOnlyCollection<LogEvent> Events => events;

        public void Emit(LogEvent logEvent) => events.Enqueue(logEvent);

        public async Task<LogEvent> EventuallyAsync(Func<LogEvent, bool> predicate)
        {
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (DateTime.UtcNow < deadline)
            {
                if (events.FirstOrDefault(predicate) is { } found)
                {
                    return found;
                }

                await Task.Delay(50);
            }

            throw new TimeoutException("no such log event");
        }
    }
}
