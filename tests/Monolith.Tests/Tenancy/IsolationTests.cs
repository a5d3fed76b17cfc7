using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>The two walls: the connection's search_path, and a role that can reach nothing but its own schema.</summary>
[Trait("Category", Categories.Security)]
public sealed class IsolationTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task Two_tenants_with_the_same_keys_each_see_only_their_own_rows_over_http()
    {
        var alpha = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        var beta = Fixture.Factory.TenantClient(MonolithFixture.Beta);
        await alpha.AuthorizeAsOwnerAsync(Fixture, MonolithFixture.Alpha);
        await beta.AuthorizeAsOwnerAsync(Fixture, MonolithFixture.Beta);

        Assert.Equal(HttpStatusCode.OK, (await alpha.PutAsJsonAsync("/settings/theme", new { value = "alpha-dark" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await beta.PutAsJsonAsync("/settings/theme", new { value = "beta-light" })).StatusCode);

        var seenByAlpha = await alpha.GetFromJsonAsync<JsonElement>("/settings/theme");
        var seenByBeta = await beta.GetFromJsonAsync<JsonElement>("/settings/theme");
        Assert.Equal("alpha-dark", seenByAlpha.GetProperty("value").GetString());
        Assert.Equal("beta-light", seenByBeta.GetProperty("value").GetString());

        var alphaList = await alpha.GetFromJsonAsync<JsonElement>("/settings");
        Assert.Single(alphaList.EnumerateArray());
    }

    [Fact]
    public async Task The_context_switch_api_binds_each_connection_to_the_tenant_in_scope()
    {
        var (alpha, beta) = (await TenantAsync(MonolithFixture.Alpha), await TenantAsync(MonolithFixture.Beta));
        await WriteSettingAsync(alpha, "same-key", "\"from alpha\"");
        await WriteSettingAsync(beta, "same-key", "\"from beta\"");

        Assert.Equal("\"from alpha\"", await ReadSettingAsync(alpha, "same-key"));
        Assert.Equal("\"from beta\"", await ReadSettingAsync(beta, "same-key"));
    }

    [Fact]
    public void A_connection_string_that_turns_off_the_pool_reset_is_refused()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(Fixture.ConnectionString) { NoResetOnClose = true }.ConnectionString;
        var error = Assert.Throws<InvalidOperationException>(() => new PlatformDatabase(connectionString, null));
        Assert.Contains("No Reset On Close", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_tenant_in_scope_tenant_data_cannot_be_reached()
    {
        var database = Fixture.Service<TenantDatabase>();
        await Assert.ThrowsAsync<InvalidOperationException>(() => database.BeginAsync());
    }

    [Fact]
    public async Task A_tenant_connection_cannot_read_another_tenants_schema_or_the_catalog()
    {
        var alpha = await TenantAsync(MonolithFixture.Alpha);
        using var scope = Fixture.Service<TenantContext>().Enter(alpha);
        foreach (var sql in new[]
                 {
                     "SELECT count(*) FROM beta.tenant_settings",
                     "SELECT count(*) FROM platform.tenants",
                     "SELECT count(*) FROM beta.audit_events",
                     "CREATE TABLE alpha.sneaky (id int)",
                     "CREATE TABLE public.sneaky (id int)",
                 })
        {
            await using var session = await Fixture.Service<TenantDatabase>().BeginAsync();
            await using var command = session.Command(sql);
            var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync());
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
        }
    }

    [Fact]
    public async Task A_tenant_connection_cannot_rewrite_or_erase_its_audit_trail()
    {
        var alpha = await TenantAsync(MonolithFixture.Alpha);
        await WriteSettingAsync(alpha, "audited", "1");
        using var scope = Fixture.Service<TenantContext>().Enter(alpha);
        await using (var session = await Fixture.Service<TenantDatabase>().BeginAsync())
        await using (var count = session.Command("SELECT count(*) FROM audit_events WHERE entity_id = 'audited'"))
        {
            Assert.Equal(1L, await count.ExecuteScalarAsync());
        }

        foreach (var sql in new[] { "UPDATE audit_events SET entity_id = 'x'", "DELETE FROM audit_events", "TRUNCATE audit_events" })
        {
            await using var session = await Fixture.Service<TenantDatabase>().BeginAsync();
            await using var command = session.Command(sql);
            var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
        }
    }

    [Fact]
    public async Task Two_thousand_interleaved_operations_over_twenty_tenants_each_run_as_their_own_tenant()
    {
        var tenants = new List<TenantInfo>();
        for (var i = 0; i < 20; i++)
        {
            var identifier = $"iso-{i:D2}";
            tenants.Add(await Fixture.Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None) ?? await Fixture.ProvisionAsync(identifier));
        }

        var database = Fixture.Service<TenantDatabase>();
        var context = Fixture.Service<TenantContext>();
        var mismatches = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 2000), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var tenant = tenants[i % tenants.Count];
            using var scope = context.Enter(tenant);
            await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
            await using var command = new NpgsqlCommand("SELECT current_schema() || '/' || current_user", connection);
            var seen = (string)(await command.ExecuteScalarAsync(ct))!;
            if (seen != $"{tenant.SchemaName}/{tenant.RoleName}")
            {
                Interlocked.Increment(ref mismatches);
            }
        });
        Assert.Equal(0, mismatches);

        // The same over HTTP, through authentication, resolution, the bounds and the pool, interleaved across tenants:
        // each tenant holds a setting naming itself, and every answer must name the tenant that asked.
        var clients = new List<(TenantInfo Tenant, HttpClient Client)>();
        foreach (var tenant in tenants)
        {
            var client = Fixture.Factory.TenantClient(tenant.Identifier);
            await client.AuthorizeAsOwnerAsync(Fixture, tenant.Identifier);
            Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync("/settings/whoami", new { value = tenant.Identifier })).StatusCode);
            clients.Add((tenant, client));
        }

        var httpMismatches = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 2000), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var (tenant, client) = clients[i % clients.Count];
            var setting = await client.GetFromJsonAsync<JsonElement>("/settings/whoami", ct);
            if (setting.GetProperty("value").GetString() != tenant.Identifier)
            {
                Interlocked.Increment(ref httpMismatches);
            }
        });
        Assert.Equal(0, httpMismatches);
    }

    private async Task<TenantInfo> TenantAsync(string identifier) =>
        (await Fixture.Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None))!;

    private async Task WriteSettingAsync(TenantInfo tenant, string key, string json)
    {
        using var scope = Fixture.Service<TenantContext>().Enter(tenant);
        await using var session = await Fixture.Service<TenantDatabase>().BeginAsync();
        var connection = session.Connection;
        await using var command = new NpgsqlCommand("INSERT INTO tenant_settings (key, value) VALUES ($1, $2::jsonb)", connection);
        command.Parameters.AddWithValue(key);
        command.Parameters.AddWithValue(json);
        await command.ExecuteNonQueryAsync();
        await session.CommitAsync(CancellationToken.None);
    }

    private async Task<string?> ReadSettingAsync(TenantInfo tenant, string key)
    {
        using var scope = Fixture.Service<TenantContext>().Enter(tenant);
        await using var session = await Fixture.Service<TenantDatabase>().BeginAsync();
        var connection = session.Connection;
        await using var command = new NpgsqlCommand("SELECT value::text FROM tenant_settings WHERE key = $1", connection);
        command.Parameters.AddWithValue(key);
        return (string?)await command.ExecuteScalarAsync();
    }
}
