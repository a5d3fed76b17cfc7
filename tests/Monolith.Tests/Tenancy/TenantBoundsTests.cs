using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tenancy;
using Monolith.Tenancy.Bounds;
using Monolith.Tenancy.Catalog;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// CONTRACT §8 "No noisy neighbour": a tenant past its statement timeout or its concurrency bound answers 503 with
/// Retry-After and has changed nothing, and another tenant is not disturbed. Slow work is made slow deterministically:
/// a superuser transaction holds a lock on the tenant's table, so the tenant's statements wait on it.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class TenantBoundsTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task A_write_past_the_tenants_statement_timeout_is_503_query_timeout_and_writes_nothing()
    {
        var (tenant, client) = await TenantWithOwnerAsync("slow");
        await PatchAsync(tenant.Identifier, new { statementTimeoutMs = 200 });

        await using (await LockAsync(tenant, "customers"))
        {
            var response = await client.PostAsJsonAsync("/customers", NewCustomer("timed-out"));

            var problem = await ProblemAsync(response, HttpStatusCode.ServiceUnavailable);
            Assert.Equal("/problems/query-timeout", problem.GetProperty("type").GetString());
            Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        }

        Assert.Equal(0L, await CountAsync(tenant, "customers"));
        Assert.Equal(0L, await CountAsync(tenant, "projects"));
        Assert.Equal(0L, await ScalarAsync($"SELECT count(*) FROM \"{tenant.SchemaName}\".audit_events WHERE entity_type = 'customer'"));

        // The bound was the only obstacle: without the lock the same request succeeds.
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/customers", NewCustomer("timed-out"))).StatusCode);
    }

    [Fact]
    public async Task A_tenant_at_its_concurrency_bound_gets_503_tenant_busy_while_another_tenant_is_served()
    {
        var (busy, busyClient) = await TenantWithOwnerAsync("busy");
        var (_, otherClient) = await TenantWithOwnerAsync("calm");
        await PatchAsync(busy.Identifier, new { maxConcurrency = 1, statementTimeoutMs = 30_000 });

        Task<HttpResponseMessage> holder;
        HttpResponseMessage[] refused;
        await using (await LockAsync(busy, "customers"))
        {
            // The one slot is taken by a request waiting on the lock; of two more, one waits its queue time and one finds
            // the queue full: both are refused, while the other tenant is served all along.
            holder = busyClient.PostAsJsonAsync("/customers", NewCustomer("holder"));
            await WaitForLockWaitersAsync(busy, 1);
            var more = new[] { busyClient.GetAsync("/customers"), busyClient.GetAsync("/customers") };
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await otherClient.GetAsync("/customers")).StatusCode);
            }

            refused = await Task.WhenAll(more);
        }

        foreach (var response in refused)
        {
            var problem = await ProblemAsync(response, HttpStatusCode.ServiceUnavailable);
            Assert.Equal("/problems/tenant-busy", problem.GetProperty("type").GetString());
            Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        }

        Assert.Equal(HttpStatusCode.Created, (await holder).StatusCode); // the lock went away, the held request finished
        Assert.Equal(HttpStatusCode.OK, (await busyClient.GetAsync("/customers")).StatusCode);
    }

    [Fact]
    public async Task One_tenant_flooding_the_pool_with_slow_requests_leaves_another_tenant_without_a_single_error()
    {
        var (aggressor, aggressorClient) = await TenantWithOwnerAsync("flood");
        var (_, victimClient) = await TenantWithOwnerAsync("victim");
        await PatchAsync(aggressor.Identifier, new { statementTimeoutMs = 30_000 });
        var bound = Fixture.Service<TenantBounds>().MaxConcurrency(aggressor);

        Task<HttpResponseMessage>[] flood;
        HttpStatusCode[] victimStatuses;
        await using (await LockAsync(aggressor, "customers"))
        {
            // Three times its bound of slow writes at once: the bound's worth hold connections, as many wait, the rest are refused.
            flood = Enumerable.Range(0, bound * 3).Select(i => aggressorClient.PostAsJsonAsync("/customers", NewCustomer($"flood-{i}"))).ToArray();
            await WaitForLockWaitersAsync(aggressor, Math.Min(bound, 5));
            victimStatuses = (await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => victimClient.GetAsync("/customers")))).Select(r => r.StatusCode).ToArray();
        }

        var aggressorStatuses = (await Task.WhenAll(flood)).Select(r => r.StatusCode).ToArray();
        Assert.All(victimStatuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Contains(HttpStatusCode.ServiceUnavailable, aggressorStatuses);
        Assert.All(aggressorStatuses, s => Assert.Contains(s, new[] { HttpStatusCode.Created, HttpStatusCode.ServiceUnavailable }));
        Assert.True(aggressorStatuses.Count(s => s == HttpStatusCode.Created) <= 2 * bound, "more requests ran than the bound and its queue admit");
    }

    [Fact]
    public async Task Bounds_are_set_per_tenant_validated_and_returned_to_the_default_with_null()
    {
        var (tenant, _) = await TenantWithOwnerAsync("bounds");
        using var platform = Fixture.Factory.PlatformClient();
        var defaults = Fixture.Service<TenantBounds>();

        var set = await platform.PatchAsJsonAsync($"/platform/tenants/{tenant.Identifier}", new { statementTimeoutMs = 1234, maxConcurrency = 3 });
        var body = await set.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal(1234, body.GetProperty("statementTimeoutMs").GetInt32());
        Assert.Equal(3, body.GetProperty("maxConcurrency").GetInt32());

        foreach (var invalid in new object[] { new { statementTimeoutMs = 0 }, new { statementTimeoutMs = 600_001 }, new { maxConcurrency = 0 }, new { maxConcurrency = "many" } })
        {
            var response = await platform.PatchAsJsonAsync($"/platform/tenants/{tenant.Identifier}", invalid);
            var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
            Assert.True(problem.TryGetProperty("errors", out _));
        }

        var reset = await (await platform.PatchAsync($"/platform/tenants/{tenant.Identifier}",
            new StringContent("""{"statementTimeoutMs":null,"maxConcurrency":null}""", System.Text.Encoding.UTF8, "application/json")))
            .Content.ReadFromJsonAsync<JsonElement>();
        var current = (await Fixture.Service<TenantCatalog>().FindAsync(tenant.Identifier, CancellationToken.None))!;
        Assert.Equal(defaults.StatementTimeoutMs(current), reset.GetProperty("statementTimeoutMs").GetInt32());
        Assert.Equal(defaults.DefaultMaxConcurrency, reset.GetProperty("maxConcurrency").GetInt32());
        Assert.Null(current.StatementTimeoutMs);
        Assert.Null(current.MaxConcurrency);
    }

    [Fact]
    public async Task The_statement_timeout_of_a_tenant_is_in_force_in_its_session()
    {
        var (tenant, _) = await TenantWithOwnerAsync("sess");
        await PatchAsync(tenant.Identifier, new { statementTimeoutMs = 4321 });
        var current = (await Fixture.Service<TenantCatalog>().FindAsync(tenant.Identifier, CancellationToken.None))!;

        using var scope = Fixture.Service<TenantContext>().Enter(current);
        await using var session = await Fixture.Service<Monolith.Tenancy.Isolation.TenantDatabase>().BeginAsync();
        await using var command = session.Command("SELECT current_setting('statement_timeout'), current_setting('lock_timeout'), current_setting('idle_in_transaction_session_timeout')");
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("4321ms", reader.GetString(0));
        Assert.Equal("4321ms", reader.GetString(1)); // the lock timeout is the statement timeout unless configured lower
        Assert.Equal("15s", reader.GetString(2));
    }

    private async Task<(TenantInfo Tenant, HttpClient Client)> TenantWithOwnerAsync(string prefix)
    {
        var tenant = await Fixture.ProvisionAsync(MonolithFixture.UniqueIdentifier(prefix));
        var client = Fixture.Factory.TenantClient(tenant.Identifier);
        var tokens = await Fixture.Factory.LoginAsync(tenant.Identifier, MonolithFixture.OwnerEmail(tenant.Identifier), MonolithFixture.OwnerPassword);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        return (tenant, client);
    }

    private async Task PatchAsync(string identifier, object body)
    {
        using var platform = Fixture.Factory.PlatformClient();
        var response = await platform.PatchAsJsonAsync($"/platform/tenants/{identifier}", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static object NewCustomer(string name) => new
    {
        name,
        email = $"{name}-{Guid.NewGuid():N}@example.test",
        projects = new[] { new { name = "First" } },
    };

    /// <summary>A superuser transaction holding an exclusive lock on one of the tenant's tables until disposed.</summary>
    private async Task<IAsyncDisposable> LockAsync(TenantInfo tenant, string table)
    {
        var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand($"LOCK TABLE \"{tenant.SchemaName}\".\"{table}\" IN ACCESS EXCLUSIVE MODE", connection, transaction))
        {
            await command.ExecuteNonQueryAsync();
        }

        return new HeldLock(connection, transaction);
    }

    /// <summary>Waits until this many of the tenant role's backends wait on a lock: the slow requests are in place.</summary>
    private async Task WaitForLockWaitersAsync(TenantInfo tenant, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await ScalarAsync($"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%customers%' AND starts_with(usename, '{TestDatabase.AppRole}') AND datname = current_database()") < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"fewer than {count} requests of {tenant.Identifier} reached the lock");
            await Task.Delay(50);
        }
    }

    private Task<long> CountAsync(TenantInfo tenant, string table) => ScalarAsync($"SELECT count(*) FROM \"{tenant.SchemaName}\".\"{table}\"");

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private sealed class HeldLock(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.RollbackAsync();
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
