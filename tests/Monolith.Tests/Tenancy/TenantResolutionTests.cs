using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Support;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// Tenant resolution through real tenant endpoints: <c>GET /me</c> (tenant-scoped; anonymous, it answers 401 once a
/// tenant is resolved and active, so 400 / 403 / 404 come from resolution) and <c>POST /auth/token</c> (the owner's
/// login only succeeds in the tenant that was resolved).
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class TenantResolutionTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    private const string Probe = "/me";

    [Fact]
    public async Task A_tenant_endpoint_without_a_tenant_is_400_tenant_required()
    {
        var response = await Fixture.Factory.CreateClient().GetAsync(Probe);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "tenant-required");
    }

    [Fact]
    public async Task An_unknown_tenant_is_404()
    {
        var response = await Fixture.Factory.TenantClient("no-such-tenant").GetAsync(Probe);
        await AssertProblemAsync(response, HttpStatusCode.NotFound, "tenant-not-found");
    }

    [Theory]
    [InlineData("x;drop schema public")]
    [InlineData("PLATFORM")]
    [InlineData("platform")]
    [InlineData("../etc")]
    public async Task A_malformed_or_reserved_tenant_name_is_404_like_any_unknown_tenant(string name)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Probe);
        request.Headers.TryAddWithoutValidation("X-Tenant", name);
        var response = await Fixture.Factory.CreateClient().SendAsync(request);
        await AssertProblemAsync(response, HttpStatusCode.NotFound, "tenant-not-found");
    }

    [Fact]
    public async Task A_suspended_tenant_is_403_until_it_is_resumed()
    {
        var identifier = MonolithFixture.UniqueIdentifier("susp");
        await Fixture.ProvisionAsync(identifier);
        var platform = Fixture.Factory.PlatformClient();
        var client = Fixture.Factory.TenantClient(identifier);
        await client.AuthorizeAsOwnerAsync(Fixture, identifier);

        Assert.Equal(HttpStatusCode.OK, (await platform.PostAsync($"/platform/tenants/{identifier}/suspend", null)).StatusCode);
        await AssertProblemAsync(await client.GetAsync(Probe), HttpStatusCode.Forbidden, "tenant-suspended");

        Assert.Equal(HttpStatusCode.OK, (await platform.PostAsync($"/platform/tenants/{identifier}/resume", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(Probe)).StatusCode);
    }

    [Fact]
    public async Task The_host_strategy_resolves_a_subdomain_of_the_base_domain()
    {
        await using var factory = new MonolithFactory(Fixture.Connections, new Dictionary<string, string?>
        {
            ["Tenancy:BaseDomain"] = "monolith.test",
        });
        var client = ClientOn(factory, "http://alpha.monolith.test");
        Assert.Equal(MonolithFixture.Alpha, await SignedInTenantAsync(client, MonolithFixture.Alpha));

        var deeper = ClientOn(factory, "http://x.alpha.monolith.test");
        await AssertProblemAsync(await deeper.GetAsync(Probe), HttpStatusCode.BadRequest, "tenant-required");
    }

    [Fact]
    public async Task The_header_wins_over_the_host_in_the_default_order()
    {
        await using var factory = new MonolithFactory(Fixture.Connections, new Dictionary<string, string?>
        {
            ["Tenancy:BaseDomain"] = "monolith.test",
        });
        var client = ClientOn(factory, "http://alpha.monolith.test");
        client.DefaultRequestHeaders.Add("X-Tenant", MonolithFixture.Beta);
        Assert.Equal(MonolithFixture.Beta, await SignedInTenantAsync(client, MonolithFixture.Beta));
    }

    [Fact]
    public async Task A_configured_resolution_order_replaces_the_default_one()
    {
        // Configuration names the host strategy alone: the header strategy is off, not appended after it.
        await using var factory = new MonolithFactory(Fixture.Connections, new Dictionary<string, string?>
        {
            ["Tenancy:BaseDomain"] = "monolith.test",
            ["Tenancy:ResolutionOrder:0"] = "host",
        });
        var client = ClientOn(factory, "http://alpha.monolith.test");
        client.DefaultRequestHeaders.Add("X-Tenant", MonolithFixture.Beta);
        Assert.Equal(MonolithFixture.Alpha, await SignedInTenantAsync(client, MonolithFixture.Alpha));

        var headerOnly = factory.TenantClient(MonolithFixture.Alpha);
        await AssertProblemAsync(await headerOnly.GetAsync(Probe), HttpStatusCode.BadRequest, "tenant-required");
    }

    [Fact]
    public async Task Another_instance_sees_a_suspension_made_behind_its_back_without_restart()
    {
        var identifier = MonolithFixture.UniqueIdentifier("live");
        await Fixture.ProvisionAsync(identifier);
        await using var second = new MonolithFactory(Fixture.Connections);
        var client = second.TenantClient(identifier);
        await client.AuthorizeAsOwnerAsync(Fixture, identifier); // same signing key: the token works on both instances
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(Probe)).StatusCode); // now cached there

        // Through the first instance's platform API: the second learns of it by notification.
        await Fixture.Factory.PlatformClient().PostAsync($"/platform/tenants/{identifier}/suspend", null);
        Assert.Equal(HttpStatusCode.Forbidden, await EventuallyAsync(client, HttpStatusCode.Forbidden));

        // Directly in the catalog, as an operator's SQL would: the same.
        await using (var connection = new Npgsql.NpgsqlConnection(Fixture.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand("UPDATE platform.tenants SET status = 'active' WHERE identifier = $1", connection);
            command.Parameters.AddWithValue(identifier);
            await command.ExecuteNonQueryAsync();
        }

        Assert.Equal(HttpStatusCode.OK, await EventuallyAsync(client, HttpStatusCode.OK));
    }

    private static HttpClient ClientOn(MonolithFactory factory, string baseAddress) =>
        factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { BaseAddress = new Uri(baseAddress) });

    /// <summary>Signs in as <paramref name="owner"/>'s owner through the client's resolution, then asks <c>GET /me</c> which tenant it is in.</summary>
    private static async Task<string?> SignedInTenantAsync(HttpClient client, string owner)
    {
        var login = await client.PostAsJsonAsync("/auth/token", new { email = MonolithFixture.OwnerEmail(owner), password = MonolithFixture.OwnerPassword });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        using var request = new HttpRequestMessage(HttpMethod.Get, Probe);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        var me = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        return (await me.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("tenant").GetString();
    }

    /// <summary>Polls until the expected status or a generous deadline; returns the last status seen.</summary>
    private static async Task<HttpStatusCode> EventuallyAsync(HttpClient client, HttpStatusCode expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        HttpStatusCode last;
        do
        {
            last = (await client.GetAsync(Probe)).StatusCode;
            if (last == expected)
            {
                return last;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);

        return last;
    }

    internal static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("/problems/" + code, problem.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
    }
}
