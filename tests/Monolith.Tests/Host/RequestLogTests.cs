using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tenancy;
using Monolith.Tenancy.Bounds;
using Monolith.Tests.Access;
using Monolith.Tests.Customers;
using Monolith.Tests.Support;
using Npgsql;
using Serilog.Core;
using Serilog.Events;

namespace Monolith.Tests.Host;

/// <summary>
/// What the request log says when a request does not simply succeed. A client that disconnects mid-request is logged as
/// a client abort (Information, status 499), never as a 500 error; the request is held on a row lock taken behind the
/// API's back, then the client cancels it. A request the database refused is logged with the 503 its client got.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class RequestLogTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task A_client_that_disconnects_mid_request_is_logged_as_a_client_abort_not_as_a_500()
    {
        var logs = new KeptEvents();
        await using var factory = HostKeeping(logs);
        var client = await OwnerClientAsync(factory, MonolithFixture.Alpha);
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

    /// <summary>
    /// A request the database refused (here: past its tenant's statement timeout) is logged with the 503 its client got,
    /// at Warning, not as the 500 the request log records for any exception that reaches it.
    /// </summary>
    [Fact]
    public async Task A_database_refusal_is_logged_with_the_503_its_client_got_not_as_a_500()
    {
        var tenant = await Fixture.ProvisionAsync(MonolithFixture.UniqueIdentifier("refused"));
        using (var platform = Fixture.Factory.PlatformClient())
        {
            Assert.Equal(HttpStatusCode.OK, (await platform.PatchAsJsonAsync($"/platform/tenants/{tenant.Identifier}", new { statementTimeoutMs = 200 })).StatusCode);
        }

        var logs = new KeptEvents();
        await using var factory = HostKeeping(logs);
        var client = await OwnerClientAsync(factory, tenant.Identifier);
        var requestId = "refused-" + Guid.NewGuid().ToString("N");

        await using (var locker = new NpgsqlConnection(Fixture.ConnectionString))
        {
            await locker.OpenAsync();
            await using var transaction = await locker.BeginTransactionAsync();
            await using (var lockTable = new NpgsqlCommand($"LOCK TABLE \"{tenant.SchemaName}\".customers IN ACCESS EXCLUSIVE MODE", locker, transaction))
            {
                await lockTable.ExecuteNonQueryAsync();
            }

            using var post = new HttpRequestMessage(HttpMethod.Post, "/customers") { Content = JsonContent.Create(CustomerBuilder.Customer(name: "Refused")) };
            post.Headers.Add("X-Request-Id", requestId);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.SendAsync(post)).StatusCode);
        }

        var requestLine = await logs.EventuallyAsync(e => Is(e, "RequestId", requestId) && e.Properties.ContainsKey("StatusCode"));
        Assert.Equal("503", requestLine.Properties["StatusCode"].ToString());
        Assert.Equal(LogEventLevel.Warning, requestLine.Level);
        Assert.DoesNotContain(logs.Events, e => e.Level >= LogEventLevel.Error);
    }

    /// <summary>
    /// A database refusal met by a request whose client has already gone: handled as the refusal it is (a warning, and
    /// 503 for the request log), not left to the catch-all as an unhandled 500; nobody is there for a body.
    /// </summary>
    [Fact]
    public async Task A_database_refusal_after_the_client_has_gone_is_a_503_without_a_body()
    {
        var handler = Fixture.Factory.Services.GetServices<IExceptionHandler>().OfType<DatabaseExceptionHandler>().Single();
        using var aborted = new CancellationTokenSource();
        await aborted.CancelAsync();
        var context = new DefaultHttpContext { RequestAborted = aborted.Token, RequestServices = Fixture.Factory.Services };
        context.Response.Body = new MemoryStream();
        var timeout = new PostgresException("canceling statement due to statement timeout", "ERROR", "ERROR", PostgresErrorCodes.QueryCanceled);

        Assert.True(await handler.TryHandleAsync(context, timeout, CancellationToken.None));
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, context.Response.StatusCode);
        Assert.Equal(0, context.Response.Body.Length);

        // The same refusal for a client that is still there gets its problem.
        var present = new DefaultHttpContext { RequestServices = Fixture.Factory.Services };
        present.Response.Body = new MemoryStream();
        Assert.True(await handler.TryHandleAsync(present, timeout, CancellationToken.None));
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, present.Response.StatusCode);
        Assert.True(present.Response.Body.Length > 0);
    }

    /// <summary>A host of its own whose every log event, from Information up, is kept in <paramref name="logs"/>.</summary>
    private MonolithFactory HostKeeping(KeptEvents logs) => new(
        Fixture.Connections,
        new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Information" },
        services => services.AddSingleton<ILogEventSink>(logs));

    private static async Task<HttpClient> OwnerClientAsync(MonolithFactory factory, string tenant)
    {
        var tokens = await factory.LoginAsync(tenant, MonolithFixture.OwnerEmail(tenant), MonolithFixture.OwnerPassword);
        return factory.TenantClient(tenant).WithBearer(tokens.AccessToken);
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
