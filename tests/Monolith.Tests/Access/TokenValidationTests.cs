using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;
using Monolith.Tests.Support;

namespace Monolith.Tests.Access;

[Trait("Category", Categories.Security)]
public sealed class TokenValidationTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    private async Task<(Guid OwnerId, string Token)> OwnerAsync()
    {
        var tokens = await Fixture.Factory.LoginAsync(MonolithFixture.Alpha, MonolithFixture.OwnerEmail(MonolithFixture.Alpha), MonolithFixture.OwnerPassword);
        var me = await Fixture.Factory.TenantClient(MonolithFixture.Alpha).WithBearer(tokens.AccessToken).GetFromJsonAsync<JsonElement>("/me");
        return (me.GetProperty("id").GetGuid(), tokens.AccessToken);
    }

    private Task<HttpResponseMessage> SettingsWith(string token, string tenant = MonolithFixture.Alpha) =>
        Fixture.Factory.TenantClient(tenant).WithBearer(token).GetAsync("/settings");

    [Fact]
    public async Task A_token_minted_with_the_host_key_for_a_live_session_is_accepted()
    {
        var (ownerId, token) = await OwnerAsync();
        var minted = AccessTestKit.Mint(ownerId, MonolithFixture.Alpha, "owner",
            tenantId: AccessTestKit.ClaimId(token, "tid"), sessionId: AccessTestKit.ClaimId(token, "sid"));
        Assert.Equal(HttpStatusCode.OK, (await SettingsWith(minted)).StatusCode);
    }

    [Fact]
    public async Task A_signed_token_without_tenant_id_or_session_is_401()
    {
        var (ownerId, token) = await OwnerAsync();
        var (tenantId, sessionId) = (AccessTestKit.ClaimId(token, "tid"), AccessTestKit.ClaimId(token, "sid"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await SettingsWith(AccessTestKit.Mint(ownerId, MonolithFixture.Alpha, "owner"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SettingsWith(AccessTestKit.Mint(ownerId, MonolithFixture.Alpha, "owner", sessionId: sessionId))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SettingsWith(AccessTestKit.Mint(ownerId, MonolithFixture.Alpha, "owner", tenantId: tenantId))).StatusCode);
        // A session of another user, or a session that never existed.
        Assert.Equal(HttpStatusCode.Unauthorized,
            (await SettingsWith(AccessTestKit.Mint(Guid.NewGuid(), MonolithFixture.Alpha, "owner", tenantId: tenantId, sessionId: sessionId))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized,
            (await SettingsWith(AccessTestKit.Mint(ownerId, MonolithFixture.Alpha, "owner", tenantId: tenantId, sessionId: Guid.NewGuid()))).StatusCode);
    }

    [Fact]
    public async Task The_role_claim_of_a_token_grants_nothing_the_user_does_not_have_now()
    {
        var viewer = await Fixture.CreateUserAsync(MonolithFixture.Alpha, "viewer");
        var tokens = await Fixture.Factory.LoginAsync(MonolithFixture.Alpha, viewer.Email, viewer.Password);
        var forged = AccessTestKit.Mint(viewer.Id, MonolithFixture.Alpha, "owner",
            tenantId: AccessTestKit.ClaimId(tokens.AccessToken, "tid"), sessionId: AccessTestKit.ClaimId(tokens.AccessToken, "sid"));
        var client = Fixture.Factory.TenantClient(MonolithFixture.Alpha).WithBearer(forged);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/users")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/audit-events")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/settings")).StatusCode);
    }

    [Fact]
    public async Task No_token_is_401_on_a_tenant_endpoint()
    {
        var response = await Fixture.Factory.TenantClient(MonolithFixture.Alpha).GetAsync("/settings");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task An_expired_token_is_401()
    {
        var (ownerId, _) = await OwnerAsync();
        var expired = AccessTestKit.Mint(ownerId, MonolithFixture.Alpha, "owner", expires: DateTime.UtcNow.AddMinutes(-2));
        Assert.Equal(HttpStatusCode.Unauthorized, (await SettingsWith(expired)).StatusCode);
    }

    [Fact]
    public async Task A_token_whose_payload_was_edited_is_401()
    {
        var viewer = await Fixture.CreateUserAsync(MonolithFixture.Alpha, "viewer");
        var tokens = await Fixture.Factory.LoginAsync(MonolithFixture.Alpha, viewer.Email, viewer.Password);
        var parts = tokens.AccessToken.Split('.');
        var payload = AccessTestKit.DecodePart(parts[1]).Replace("\"viewer\"", "\"owner\"", StringComparison.Ordinal);
        Assert.Contains("\"owner\"", payload, StringComparison.Ordinal);
        var forged = $"{parts[0]}.{AccessTestKit.Base64Url(payload)}.{parts[2]}";

        Assert.Equal(HttpStatusCode.Unauthorized, (await SettingsWith(forged)).StatusCode);
    }

    [Fact]
    public async Task A_token_without_its_signature_is_401()
    {
        var (_, token) = await OwnerAsync();
        var parts = token.Split('.');
        Assert.Equal(HttpStatusCode.Unauthorized, (await SettingsWith($"{parts[0]}.{parts[1]}.")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SettingsWith($"{parts[0]}.{parts[1]}")).StatusCode);
    }

    [Fact]
    public async Task An_alg_none_token_is_401()
    {
        var (_, token) = await OwnerAsync();
        var payload = token.Split('.')[1];
        var header = AccessTestKit.Base64Url("{\"alg\":\"none\",\"typ\":\"JWT\"}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await SettingsWith($"{header}.{payload}.")).StatusCode);
    }

    [Fact]
    public async Task A_token_signed_with_another_key_is_401()
    {
        var (ownerId, _) = await OwnerAsync();
        var other = AccessTestKit.Mint(ownerId, MonolithFixture.Alpha, "owner", key: "another-signing-key-0123456789abcdef0123456789");
        Assert.Equal(HttpStatusCode.Unauthorized, (await SettingsWith(other)).StatusCode);
    }

    [Fact]
    public async Task A_token_with_another_algorithm_issuer_or_audience_is_401()
    {
        var (ownerId, _) = await OwnerAsync();
        Assert.Equal(HttpStatusCode.Unauthorized,
            (await SettingsWith(AccessTestKit.Mint(ownerId, MonolithFixture.Alpha, "owner", key: MonolithFactory.SigningKey + "-padding-for-hs512-0123456789", algorithm: SecurityAlgorithms.HmacSha512))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SettingsWith(AccessTestKit.Mint(ownerId, MonolithFixture.Alpha, "owner", issuer: "someone-else"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SettingsWith(AccessTestKit.Mint(ownerId, MonolithFixture.Alpha, "owner", audience: "another-api"))).StatusCode);
    }

    [Fact]
    public async Task A_token_for_one_tenant_is_401_on_another()
    {
        var (_, token) = await OwnerAsync();
        var response = await SettingsWith(token, MonolithFixture.Beta);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("/problems/tenant-mismatch", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Without_a_tenant_header_the_token_names_the_tenant()
    {
        var (_, token) = await OwnerAsync();
        var client = Fixture.Factory.CreateClient().WithBearer(token);
        var me = await client.GetFromJsonAsync<JsonElement>("/me");
        Assert.Equal(MonolithFixture.Alpha, me.GetProperty("tenant").GetString());
    }

    [Fact]
    public async Task A_tenant_token_never_opens_the_platform_api()
    {
        var (_, token) = await OwnerAsync();
        var client = Fixture.Factory.TenantClient(MonolithFixture.Alpha).WithBearer(token);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/platform/tenants")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized,
            (await client.PostAsJsonAsync("/platform/tenants", new { identifier = "sneaky", name = "x", ownerEmail = "a@b.test" })).StatusCode);
    }

    [Fact]
    public async Task The_platform_key_opens_no_tenant_endpoint()
    {
        var client = Fixture.Factory.PlatformClient();
        client.DefaultRequestHeaders.Add("X-Tenant", MonolithFixture.Alpha);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/settings")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/users")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/me")).StatusCode);
    }

    [Fact]
    public async Task A_token_of_a_deleted_user_gets_401_from_me_and_the_users_api()
    {
        var admin = await Fixture.CreateUserAsync(MonolithFixture.Alpha, "admin");
        var tokens = await Fixture.Factory.LoginAsync(MonolithFixture.Alpha, admin.Email, admin.Password);
        var owner = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        await owner.AuthorizeAsOwnerAsync(Fixture, MonolithFixture.Alpha);
        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"/users/{admin.Id}")).StatusCode);

        var client = Fixture.Factory.TenantClient(MonolithFixture.Alpha).WithBearer(tokens.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/users")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized,
            (await client.PostAsJsonAsync("/users", new { email = "x@alpha.test", name = "x", role = "viewer", password = "long-enough-password" })).StatusCode);
    }
}
