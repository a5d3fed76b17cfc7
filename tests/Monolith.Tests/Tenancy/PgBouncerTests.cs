using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tests.Auditing;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// A host behind a real PgBouncer (Debian's 1.18) in transaction mode with three server connections, and
/// <c>Tenancy:TransactionPooling=true</c>: the request role goes through the pooler, the owner role straight to the server.
/// </summary>
public sealed class PgBouncerHost : IAsyncLifetime
{
    public const int ServerConnections = 3;

    public MonolithFactory Factory { get; private set; } = null!;

    public string PooledConnectionString { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var database = await TestDatabase.Shared;
        PooledConnectionString = database.StartPgBouncer(ServerConnections);
        Factory = new MonolithFactory(database.Connections with { App = PooledConnectionString }, new Dictionary<string, string?>
        {
            ["Tenancy:TransactionPooling"] = "true",
        });
        _ = Factory.Server;
    }

    public async Task DisposeAsync() => await Factory.DisposeAsync();
}

/// <summary>The isolation suite through the pooler: every tenant statement runs in a transaction that carries its own settings.</summary>
[Trait("Category", Categories.Security)]
public sealed class PgBouncerTests(MonolithFixture fixture, PgBouncerHost pooler) : IntegrationTest(fixture), IClassFixture<PgBouncerHost>
{
    [Fact]
    public async Task Two_thousand_interleaved_operations_over_twenty_tenants_each_run_as_their_own_tenant_through_the_pooler()
    {
        var tenants = await TenantsAsync(20);
        var database = pooler.Factory.Services.GetRequiredService<TenantDatabase>();
        var context = pooler.Factory.Services.GetRequiredService<TenantContext>();
        var mismatches = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 2000), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var tenant = tenants[i % tenants.Count];
            using var scope = context.Enter(tenant);
            await using var session = await database.BeginAsync(ct);
            await using var command = session.Command("SELECT current_schema() || '/' || current_user || '/' || current_setting('monolith.tenant')");
            if ((string?)await command.ExecuteScalarAsync(ct) != $"{tenant.SchemaName}/{tenant.RoleName}/{tenant.Identifier}")
            {
                Interlocked.Increment(ref mismatches);
            }
        });

        Assert.Equal(0, mismatches);
    }

    [Fact]
    public async Task Interleaved_requests_of_twenty_tenants_over_http_each_see_only_their_own_customers_through_the_pooler()
    {
        var tenants = await TenantsAsync(20);
        var clients = new List<(TenantInfo Tenant, HttpClient Client)>();
        foreach (var tenant in tenants)
        {
            var client = pooler.Factory.TenantClient(tenant.Identifier);
            var tokens = await pooler.Factory.LoginAsync(tenant.Identifier, MonolithFixture.OwnerEmail(tenant.Identifier), MonolithFixture.OwnerPassword);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
            if ((await client.GetFromJsonAsync<JsonElement>("/customers")).GetProperty("items").GetArrayLength() == 0)
            {
                var created = await client.PostAsJsonAsync("/customers", new
                {
                    name = tenant.Identifier,
                    email = $"only@{tenant.Identifier}.test",
                    projects = new[] { new { name = "Main" } },
                });
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            }

            clients.Add((tenant, client));
        }

        var leaks = 0;
        var failures = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 720), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var (tenant, client) = clients[i % clients.Count];
            var response = await client.GetAsync("/customers", ct);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Interlocked.Increment(ref failures);
                return;
            }

            var items = (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("items");
            if (items.EnumerateArray().Any(c => c.GetProperty("name").GetString() != tenant.Identifier))
            {
                Interlocked.Increment(ref leaks);
            }
        });

        Assert.Equal(0, leaks);
        Assert.Equal(0, failures);
    }

    [Fact]
    public async Task Writes_through_the_pooler_are_audited_with_their_own_actor_and_request_id()
    {
        var tenants = await TenantsAsync(4);
        var writes = new List<(TenantInfo Tenant, string RequestId)>();
        foreach (var tenant in tenants)
        {
            using var client = pooler.Factory.TenantClient(tenant.Identifier);
            var tokens = await pooler.Factory.LoginAsync(tenant.Identifier, MonolithFixture.OwnerEmail(tenant.Identifier), MonolithFixture.OwnerPassword);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
            for (var i = 0; i < 5; i++)
            {
                var requestId = $"pooled-{tenant.Identifier}-{i}";
                using var request = new HttpRequestMessage(HttpMethod.Put, $"/settings/pooled-{i}") { Content = JsonContent.Create(new { value = i }) };
                request.Headers.Add("X-Request-Id", requestId);
                Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);
                writes.Add((tenant, requestId));
            }
        }

        foreach (var (tenant, requestId) in writes)
        {
            var row = Assert.Single(await Fixture.AuditRowsAsync(tenant), r => r.RequestId == requestId);
            Assert.Equal(MonolithFixture.OwnerEmail(tenant.Identifier), row.ActorEmail);
        }
    }

    [Fact]
    public void A_multiplexing_connection_string_is_refused_at_start()
    {
        var multiplexed = new NpgsqlConnectionStringBuilder(Fixture.Connections.App) { Multiplexing = true }.ConnectionString;
        var error = Assert.Throws<InvalidOperationException>(() => new PlatformDatabase(multiplexed, Fixture.Connections.Owner));
        Assert.Contains("ConnectionStrings__Monolith", error.Message, StringComparison.Ordinal);
        Assert.Contains("Multiplexing", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(new NpgsqlConnectionStringBuilder(Fixture.Connections.App).Password!, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_reset_on_close_is_accepted_only_behind_a_transaction_pooler()
    {
        var noReset = new NpgsqlConnectionStringBuilder(Fixture.Connections.App) { NoResetOnClose = true }.ConnectionString;
        Assert.Throws<InvalidOperationException>(() => new PlatformDatabase(noReset, Fixture.Connections.Owner));
        var accepted = new PlatformDatabase(noReset, Fixture.Connections.Owner, transactionPooling: true);
        Assert.True(accepted.TransactionPooling);
    }

    [Fact]
    public async Task The_request_pool_prepares_its_statements_and_a_reused_connection_keeps_them_but_not_its_session_state()
    {
        var oneConnection = new NpgsqlConnectionStringBuilder(Fixture.Connections.App) { MaxPoolSize = 1 }.ConnectionString;
        await using var database = new PlatformDatabase(oneConnection, Fixture.Connections.Owner);
        Assert.Equal(PlatformDatabase.DefaultMaxAutoPrepare, new NpgsqlConnectionStringBuilder(database.RequestConnectionString).MaxAutoPrepare);

        for (var i = 0; i < 6; i++) // Npgsql prepares a statement on its fifth use
        {
            await using var connection = await database.RequestDataSource.OpenConnectionAsync();
            await using var command = new NpgsqlCommand("SELECT count(*) FROM platform.tenants", connection);
            await command.ExecuteScalarAsync();
            await using var leave = new NpgsqlCommand("SET statement_timeout = 1234", connection); // session state a request left behind
            await leave.ExecuteNonQueryAsync();
        }

        await using var reused = await database.RequestDataSource.OpenConnectionAsync();
        await using var check = new NpgsqlCommand(
            "SELECT (SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%platform.tenants%'), current_setting('statement_timeout')", reused);
        await using var reader = await check.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(1, reader.GetInt64(0)); // no DISCARD ALL: the statement and the plans of the functions it ran survive
        Assert.NotEqual("1234ms", reader.GetString(1)); // RESET ALL still ran
    }

    [Fact]
    public async Task Statements_are_not_prepared_when_the_connection_string_says_so_or_behind_a_transaction_pooler()
    {
        var off = Fixture.Connections.App + ";Max Auto Prepare=0";
        await using var explicitlyOff = new PlatformDatabase(off, Fixture.Connections.Owner);
        Assert.Equal(0, new NpgsqlConnectionStringBuilder(explicitlyOff.RequestConnectionString).MaxAutoPrepare);

        var pooled = new NpgsqlConnectionStringBuilder(Fixture.Connections.App) { NoResetOnClose = true }.ConnectionString;
        await using var pooler = new PlatformDatabase(pooled, Fixture.Connections.Owner, transactionPooling: true);
        Assert.Equal(0, new NpgsqlConnectionStringBuilder(pooler.RequestConnectionString).MaxAutoPrepare);
    }

    private async Task<List<TenantInfo>> TenantsAsync(int count)
    {
        var tenants = new List<TenantInfo>();
        for (var i = 0; i < count; i++)
        {
            var identifier = $"pool-{i:D2}";
            tenants.Add(await Fixture.Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None) ?? await Fixture.ProvisionAsync(identifier));
        }

        return tenants;
    }
}
