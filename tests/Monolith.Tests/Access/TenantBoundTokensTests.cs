using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Support;

namespace Monolith.Tests.Access;

/// <summary>CONTRACT §3: a token names its tenant by id as well as by identifier.</summary>
[Trait("Category", Categories.Security)]
public sealed class TenantBoundTokensTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task A_token_of_a_purged_tenant_is_401_on_a_new_tenant_with_the_same_identifier_on_every_module()
    {
        var identifier = MonolithFixture.UniqueIdentifier("again");
        var platform = Fixture.Factory.PlatformClient();
        object Create() => new { identifier, name = "Again", ownerEmail = MonolithFixture.OwnerEmail(identifier), ownerPassword = MonolithFixture.OwnerPassword };

        Assert.Equal(HttpStatusCode.Created, (await platform.PostAsJsonAsync("/platform/tenants", Create())).StatusCode);
        var old = await Fixture.Factory.LoginAsync(identifier, MonolithFixture.OwnerEmail(identifier), MonolithFixture.OwnerPassword);
        var purged = await platform.DeleteAsync($"/platform/tenants/{identifier}?purge=true&archive=false");
        Assert.True(purged.IsSuccessStatusCode, $"purge: {(int)purged.StatusCode} {await purged.Content.ReadAsStringAsync()}");
        Assert.Equal(HttpStatusCode.Created, (await platform.PostAsJsonAsync("/platform/tenants", Create())).StatusCode);

        var project = Guid.CreateVersion7();
        string[] paths =
        [
            "/me", "/users", "/customers", $"/projects/{project}", "/features", $"/projects/{project}/features", "/settings", "/audit-events",
        ];
        foreach (var client in new[] { Fixture.Factory.TenantClient(identifier), Fixture.Factory.CreateClient() })
        {
            client.WithBearer(old.AccessToken);
            foreach (var path in paths)
            {
                var response = await client.GetAsync(path);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{path}: {(int)response.StatusCode}");
                Assert.Equal("/problems/tenant-mismatch", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
            }
        }

        // Its refresh token is unknown there too; the new tenant's own owner signs in and reads.
        Assert.Equal(HttpStatusCode.Unauthorized,
            (await Fixture.Factory.TenantClient(identifier).PostAsJsonAsync("/auth/refresh", new { refreshToken = old.RefreshToken })).StatusCode);
        var fresh = await Fixture.Factory.LoginAsync(identifier, MonolithFixture.OwnerEmail(identifier), MonolithFixture.OwnerPassword);
        Assert.Equal(HttpStatusCode.OK, (await Fixture.Factory.TenantClient(identifier).WithBearer(fresh.AccessToken).GetAsync("/customers")).StatusCode);
    }

    [Fact]
    public async Task Logout_ends_the_sessions_access_token_at_once_and_refresh_stays_in_the_session()
    {
        var user = await Fixture.CreateUserAsync(MonolithFixture.Alpha, "viewer");
        var tokens = await Fixture.Factory.LoginAsync(MonolithFixture.Alpha, user.Email, user.Password);
        var anonymous = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        var refreshed = await (await anonymous.PostAsJsonAsync("/auth/refresh", new { refreshToken = tokens.RefreshToken })).Content.ReadFromJsonAsync<JsonElement>();
        var access = refreshed.GetProperty("accessToken").GetString()!;
        Assert.Equal(AccessTestKit.ClaimId(tokens.AccessToken, "sid"), AccessTestKit.ClaimId(access, "sid"));
        var client = Fixture.Factory.TenantClient(MonolithFixture.Alpha).WithBearer(access);
        var older = Fixture.Factory.TenantClient(MonolithFixture.Alpha).WithBearer(tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/customers")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await older.GetAsync("/customers")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent,
            (await anonymous.PostAsJsonAsync("/auth/logout", new { refreshToken = refreshed.GetProperty("refreshToken").GetString() })).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/customers")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await older.GetAsync("/customers")).StatusCode);
        // An anonymous endpoint with the dead token goes on as anonymous.
        Assert.Equal(HttpStatusCode.Unauthorized,
            (await older.PostAsJsonAsync("/auth/token", new { email = user.Email, password = "not-the-password-1" })).StatusCode);
    }

    [Fact]
    public async Task A_reused_refresh_token_ends_the_session_and_its_access_tokens_at_once()
    {
        var user = await Fixture.CreateUserAsync(MonolithFixture.Alpha, "viewer");
        var tokens = await Fixture.Factory.LoginAsync(MonolithFixture.Alpha, user.Email, user.Password);
        var anonymous = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        var client = Fixture.Factory.TenantClient(MonolithFixture.Alpha).WithBearer(tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/customers")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.PostAsJsonAsync("/auth/refresh", new { refreshToken = tokens.RefreshToken })).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/auth/refresh", new { refreshToken = tokens.RefreshToken })).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/customers")).StatusCode);
    }
}
