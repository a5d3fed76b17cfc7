using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Cli;
using Monolith.Tests.Support;

namespace Monolith.Tests.Access;

[Trait("Category", Categories.Security)]
public sealed class AuthFlowTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task Owner_from_the_platform_logs_in_refreshes_is_caught_reusing_and_logs_out()
    {
        var identifier = MonolithFixture.UniqueIdentifier("flow");
        var platform = Fixture.Factory.PlatformClient();
        var created = await platform.PostAsJsonAsync("/platform/tenants", new { identifier, name = "Flow", ownerEmail = $"boss@{identifier}.test" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var owner = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("owner");
        var password = owner.GetProperty("password").GetString()!;
        Assert.True(password.Length >= 12);

        var client = Fixture.Factory.TenantClient(identifier);
        var login = await client.PostAsJsonAsync("/auth/token", new { email = $"Boss@{identifier}.test", password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var pair = await login.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Bearer", pair.GetProperty("tokenType").GetString());
        Assert.Equal(900, pair.GetProperty("expiresIn").GetInt32());
        var first = pair.GetProperty("refreshToken").GetString()!;

        client.WithBearer(pair.GetProperty("accessToken").GetString()!);
        var me = await client.GetFromJsonAsync<JsonElement>("/me");
        Assert.Equal($"boss@{identifier}.test", me.GetProperty("email").GetString());
        Assert.Equal("owner", me.GetProperty("role").GetString());
        Assert.Equal(identifier, me.GetProperty("tenant").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/users")).StatusCode);

        var refreshed = await client.PostAsJsonAsync("/auth/refresh", new { refreshToken = first });
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        var second = (await refreshed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refreshToken").GetString()!;
        Assert.NotEqual(first, second);

        // The first token is spent: presenting it again revokes the family, so the second dies with it.
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/auth/refresh", new { refreshToken = first })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/auth/refresh", new { refreshToken = second })).StatusCode);

        // A new login starts a new family; logout ends it.
        var again = await (await client.PostAsJsonAsync("/auth/token", new { email = $"boss@{identifier}.test", password })).Content.ReadFromJsonAsync<JsonElement>();
        var third = again.GetProperty("refreshToken").GetString()!;
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsJsonAsync("/auth/logout", new { refreshToken = third })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/auth/refresh", new { refreshToken = third })).StatusCode);
    }

    [Fact]
    public async Task Wrong_password_and_unknown_email_answer_the_same_401()
    {
        var client = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        var wrong = await client.PostAsJsonAsync("/auth/token", new { email = MonolithFixture.OwnerEmail(MonolithFixture.Alpha), password = "not-the-password-at-all" });
        var unknown = await client.PostAsJsonAsync("/auth/token", new { email = "nobody@alpha.test", password = "not-the-password-at-all" });

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        var a = await wrong.Content.ReadFromJsonAsync<JsonElement>();
        var b = await unknown.Content.ReadFromJsonAsync<JsonElement>();
        foreach (var member in new[] { "type", "title", "status", "detail" })
        {
            Assert.Equal(a.GetProperty(member).ToString(), b.GetProperty(member).ToString());
        }
    }

    [Fact]
    public async Task A_disabled_user_cannot_log_in_and_loses_its_refresh_tokens()
    {
        var member = await Fixture.CreateUserAsync(MonolithFixture.Alpha, "member");
        var tokens = await Fixture.Factory.LoginAsync(MonolithFixture.Alpha, member.Email, member.Password);
        var owner = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        await owner.AuthorizeAsOwnerAsync(Fixture, MonolithFixture.Alpha);

        Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"/users/{member.Id}", new { status = "disabled" })).StatusCode);

        var client = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/auth/refresh", new { refreshToken = tokens.RefreshToken })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/auth/token", new { email = member.Email, password = member.Password })).StatusCode);
    }

    [Fact]
    public async Task Demoting_a_user_keeps_its_session_under_the_new_role_at_once()
    {
        var admin = await Fixture.CreateUserAsync(MonolithFixture.Alpha, "admin");
        var tokens = await Fixture.Factory.LoginAsync(MonolithFixture.Alpha, admin.Email, admin.Password);
        var client = Fixture.Factory.TenantClient(MonolithFixture.Alpha).WithBearer(tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/users")).StatusCode);

        var owner = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        await owner.AuthorizeAsOwnerAsync(Fixture, MonolithFixture.Alpha);
        Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"/users/{admin.Id}", new { role = "viewer" })).StatusCode);

        // The same access token: the new role's rules (403), not a 401.
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/users")).StatusCode);
        Assert.Equal("viewer", (await client.GetFromJsonAsync<JsonElement>("/me")).GetProperty("role").GetString());

        // The session goes on: its refresh token gives a pair that carries the new role.
        var refreshed = await Fixture.Factory.TenantClient(MonolithFixture.Alpha).PostAsJsonAsync("/auth/refresh", new { refreshToken = tokens.RefreshToken });
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        var access = (await refreshed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString()!;
        Assert.Equal("viewer", AccessTestKit.Read(access).GetClaim("role").Value);
        Assert.Equal(AccessTestKit.ClaimId(tokens.AccessToken, "sid"), AccessTestKit.ClaimId(access, "sid"));
    }

    [Fact]
    public async Task A_refresh_token_of_one_tenant_is_unknown_to_another()
    {
        var tokens = await Fixture.Factory.LoginAsync(MonolithFixture.Alpha, MonolithFixture.OwnerEmail(MonolithFixture.Alpha), MonolithFixture.OwnerPassword);
        var beta = Fixture.Factory.TenantClient(MonolithFixture.Beta);
        Assert.Equal(HttpStatusCode.Unauthorized, (await beta.PostAsJsonAsync("/auth/refresh", new { refreshToken = tokens.RefreshToken })).StatusCode);

        var alpha = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        Assert.Equal(HttpStatusCode.OK, (await alpha.PostAsJsonAsync("/auth/refresh", new { refreshToken = tokens.RefreshToken })).StatusCode);
    }

    [Fact]
    public async Task Login_and_refresh_requests_without_their_fields_are_400_naming_each()
    {
        var client = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        var login = await client.PostAsJsonAsync("/auth/token", new { });
        Assert.Equal(HttpStatusCode.BadRequest, login.StatusCode);
        var errors = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("email", out _));
        Assert.True(errors.TryGetProperty("password", out _));

        var refresh = await client.PostAsJsonAsync("/auth/refresh", new { });
        Assert.Equal(HttpStatusCode.BadRequest, refresh.StatusCode);
        Assert.True((await refresh.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("refreshToken", out _));
    }

    [Fact]
    public async Task Logout_with_an_unknown_token_is_204_and_changes_nothing()
    {
        var tokens = await Fixture.Factory.LoginAsync(MonolithFixture.Alpha, MonolithFixture.OwnerEmail(MonolithFixture.Alpha), MonolithFixture.OwnerPassword);
        var client = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsJsonAsync("/auth/logout", new { refreshToken = "no-such-token" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/auth/refresh", new { refreshToken = tokens.RefreshToken })).StatusCode);
    }

    [Fact]
    public async Task Creating_a_tenant_with_a_weak_owner_password_is_400_and_leaves_nothing()
    {
        var identifier = MonolithFixture.UniqueIdentifier("weak");
        var platform = Fixture.Factory.PlatformClient();
        var response = await platform.PostAsJsonAsync("/platform/tenants",
            new { identifier, name = "Weak", ownerEmail = "not-an-email", ownerPassword = "short" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("ownerEmail", out _));
        Assert.True(errors.TryGetProperty("ownerPassword", out _));
        Assert.Equal(HttpStatusCode.NotFound, (await platform.GetAsync($"/platform/tenants/{identifier}")).StatusCode);
    }

    [Fact]
    public async Task The_cli_creates_an_owner_whose_generated_password_signs_in()
    {
        var identifier = MonolithFixture.UniqueIdentifier("clio");
        var run = await CliRunner.RunAsync([.. Fixture.Connections.Settings],
            "tenants", "create", identifier, "--name", "Cli Owner", "--owner-email", $"chief@{identifier}.test", "--json");
        Assert.Equal(0, run.ExitCode);
        var password = JsonDocument.Parse(run.Stdout).RootElement.GetProperty("owner").GetProperty("password").GetString();
        Assert.False(string.IsNullOrEmpty(password));

        var tokens = await Fixture.Factory.LoginAsync(identifier, $"chief@{identifier}.test", password!);
        var me = await Fixture.Factory.TenantClient(identifier).WithBearer(tokens.AccessToken).GetFromJsonAsync<JsonElement>("/me");
        Assert.Equal("owner", me.GetProperty("role").GetString());
    }
}
