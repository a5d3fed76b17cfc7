using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tenancy;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Access;

[Trait("Category", Categories.Integration)]
public sealed class UserManagementTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    private const string Tenant = MonolithFixture.Alpha;

    private static object NewUser(string role, string? email = null) => new
    {
        email = email ?? $"{role}-{Guid.NewGuid():N}@alpha.test",
        name = $"A {role}",
        role,
        password = "a-perfectly-long-password",
    };

    private async Task<HttpClient> OwnerAsync()
    {
        var owner = Fixture.Factory.TenantClient(Tenant);
        await owner.AuthorizeAsOwnerAsync(Fixture, Tenant);
        return owner;
    }

    private static async Task<Guid> OwnerIdAsync(HttpClient owner) => (await owner.GetFromJsonAsync<JsonElement>("/me")).GetProperty("id").GetGuid();

    [Theory]
    [InlineData("viewer")]
    [InlineData("member")]
    public async Task Viewers_and_members_cannot_list_read_or_create_users(string role)
    {
        var client = await Fixture.ClientAsAsync(Tenant, role);
        var someone = await Fixture.CreateUserAsync(Tenant, "viewer");
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/users")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync($"/users/{someone.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsJsonAsync("/users", NewUser("viewer"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PatchAsJsonAsync($"/users/{someone.Id}", new { name = "x" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.DeleteAsync($"/users/{someone.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/me")).StatusCode);
    }

    [Fact]
    public async Task An_admin_manages_users_up_to_admin_but_not_owners()
    {
        var admin = await Fixture.ClientAsAsync(Tenant, "admin");
        var owner = await OwnerAsync();
        var ownerId = await OwnerIdAsync(owner);

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/users")).StatusCode);
        var created = await admin.PostAsJsonAsync("/users", NewUser("member"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var memberId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.Equal($"/users/{memberId}", created.Headers.Location?.ToString());
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/users", NewUser("admin"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsJsonAsync($"/users/{memberId}", new { role = "admin" })).StatusCode);

        Assert.Equal(HttpStatusCode.Forbidden, (await admin.PostAsJsonAsync("/users", NewUser("owner"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.PatchAsJsonAsync($"/users/{memberId}", new { role = "owner" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.PatchAsJsonAsync($"/users/{ownerId}", new { name = "Renamed" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.DeleteAsync($"/users/{ownerId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/users/{ownerId}")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/users/{memberId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/users/{memberId}")).StatusCode);
    }

    [Fact]
    public async Task An_admin_cannot_promote_itself_to_owner()
    {
        var admin = await Fixture.ClientAsAsync(Tenant, "admin");
        var me = (await admin.GetFromJsonAsync<JsonElement>("/me")).GetProperty("id").GetGuid();
        var response = await admin.PatchAsJsonAsync($"/users/{me}", new { role = "owner" });
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("/problems/role-escalation", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
        Assert.Equal("admin", (await admin.GetFromJsonAsync<JsonElement>($"/users/{me}")).GetProperty("role").GetString());
    }

    [Fact]
    public async Task An_owner_manages_owners()
    {
        var owner = await OwnerAsync();
        var created = await owner.PostAsJsonAsync("/users", NewUser("owner"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var second = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"/users/{second}", new { role = "admin" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"/users/{second}", new { role = "owner" })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"/users/{second}")).StatusCode);
    }

    [Fact]
    public async Task The_last_owner_can_be_neither_demoted_disabled_nor_removed()
    {
        var owner = await OwnerAsync();
        var ownerId = await OwnerIdAsync(owner);

        foreach (var change in new object[] { new { role = "admin" }, new { status = "disabled" } })
        {
            var response = await owner.PatchAsJsonAsync($"/users/{ownerId}", change);
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Equal("/problems/last-owner", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
        }

        Assert.Equal(HttpStatusCode.Conflict, (await owner.DeleteAsync($"/users/{ownerId}")).StatusCode);
        var still = await owner.GetFromJsonAsync<JsonElement>($"/users/{ownerId}");
        Assert.Equal("owner", still.GetProperty("role").GetString());
        Assert.Equal("active", still.GetProperty("status").GetString());

        // With a second owner, the first may step down.
        Assert.Equal(HttpStatusCode.Created, (await owner.PostAsJsonAsync("/users", NewUser("owner"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"/users/{ownerId}", new { role = "admin" })).StatusCode);
    }

    [Fact]
    public async Task Invalid_users_are_400_naming_every_field_and_nothing_is_created()
    {
        var owner = await OwnerAsync();
        var response = await owner.PostAsJsonAsync("/users", new { email = "not-an-address", name = "", role = "superuser", password = "short" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        foreach (var field in new[] { "email", "name", "role", "password" })
        {
            Assert.True(errors.TryGetProperty(field, out _), field);
        }

        var sameAsEmail = await owner.PostAsJsonAsync("/users", new { email = "echo-echo-echo@alpha.test", name = "Echo", role = "viewer", password = "echo-echo-echo@alpha.test" });
        Assert.Equal(HttpStatusCode.BadRequest, sameAsEmail.StatusCode);
        Assert.True((await sameAsEmail.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("password", out _));

        var list = await owner.GetFromJsonAsync<JsonElement>("/users");
        Assert.Equal(1, list.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Unknown_members_such_as_a_password_hash_are_rejected()
    {
        var owner = await OwnerAsync();
        var response = await owner.PostAsJsonAsync("/users", new { email = "mass@alpha.test", name = "Mass", role = "viewer", password = "a-perfectly-long-password", passwordHash = "x" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task E_mail_addresses_are_unique_ignoring_case()
    {
        var owner = await OwnerAsync();
        Assert.Equal(HttpStatusCode.Created, (await owner.PostAsJsonAsync("/users", NewUser("viewer", "same@alpha.test"))).StatusCode);
        var again = await owner.PostAsJsonAsync("/users", NewUser("viewer", "SAME@Alpha.test"));
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("/problems/email-taken", (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Another_tenants_user_id_answers_404_like_a_missing_one()
    {
        var betaUser = await Fixture.CreateUserAsync(MonolithFixture.Beta, "viewer");
        var owner = await OwnerAsync();
        var foreign = await owner.GetAsync($"/users/{betaUser.Id}");
        var missing = await owner.GetAsync($"/users/{Guid.CreateVersion7()}");
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal((await missing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(),
            (await foreign.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await owner.PatchAsJsonAsync($"/users/{betaUser.Id}", new { name = "x" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.DeleteAsync($"/users/{betaUser.Id}")).StatusCode);
    }

    [Fact]
    public async Task A_stale_if_match_is_412_and_changes_nothing()
    {
        var owner = await OwnerAsync();
        var user = await Fixture.CreateUserAsync(Tenant, "viewer");
        var read = await owner.GetAsync($"/users/{user.Id}");
        var etag = read.Headers.ETag!.Tag;

        using var first = new HttpRequestMessage(HttpMethod.Patch, $"/users/{user.Id}") { Content = JsonContent.Create(new { name = "First" }) };
        first.Headers.TryAddWithoutValidation("If-Match", etag);
        Assert.Equal(HttpStatusCode.OK, (await owner.SendAsync(first)).StatusCode);

        using var stale = new HttpRequestMessage(HttpMethod.Patch, $"/users/{user.Id}") { Content = JsonContent.Create(new { name = "Second" }) };
        stale.Headers.TryAddWithoutValidation("If-Match", etag);
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await owner.SendAsync(stale)).StatusCode);

        using var delete = new HttpRequestMessage(HttpMethod.Delete, $"/users/{user.Id}");
        delete.Headers.TryAddWithoutValidation("If-Match", etag);
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await owner.SendAsync(delete)).StatusCode);
        Assert.Equal("First", (await owner.GetFromJsonAsync<JsonElement>($"/users/{user.Id}")).GetProperty("name").GetString());
    }

    [Fact]
    public async Task Lists_page_with_a_cursor_and_filter_by_role()
    {
        var owner = await OwnerAsync();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await owner.PostAsJsonAsync("/users", NewUser("member"))).StatusCode);
        }

        var first = await owner.GetFromJsonAsync<JsonElement>("/users?role=member&limit=2");
        Assert.Equal(2, first.GetProperty("items").GetArrayLength());
        var cursor = first.GetProperty("nextCursor").GetString();
        var second = await owner.GetFromJsonAsync<JsonElement>($"/users?role=member&limit=2&cursor={cursor}");
        Assert.Equal(1, second.GetProperty("items").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);

        Assert.Equal(HttpStatusCode.BadRequest, (await owner.GetAsync("/users?role=superuser")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await owner.GetAsync("/users?limit=0")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await owner.GetAsync("/users?cursor=garbage")).StatusCode);
    }

    [Fact]
    public async Task A_changed_password_works_and_the_old_one_does_not()
    {
        var owner = await OwnerAsync();
        var user = await Fixture.CreateUserAsync(Tenant, "member");
        Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"/users/{user.Id}", new { password = "a-brand-new-password" })).StatusCode);
        var client = Fixture.Factory.TenantClient(Tenant);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/auth/token", new { email = user.Email, password = user.Password })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/auth/token", new { email = user.Email, password = "a-brand-new-password" })).StatusCode);
    }

    [Fact]
    public async Task Users_are_audited_with_their_actor_and_without_the_hash_and_logins_are_not_audited()
    {
        var owner = await OwnerAsync();
        var ownerId = await OwnerIdAsync(owner);
        var user = await Fixture.CreateUserAsync(Tenant, "member");
        await Fixture.Factory.LoginAsync(Tenant, user.Email, user.Password);
        var client = Fixture.Factory.TenantClient(Tenant);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/auth/token", new { email = user.Email, password = "wrong-password-here" })).StatusCode);

        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT action, actor_kind, actor_id, monolith.audit_changes(changes)::text FROM \"{TenantIdentifier.SchemaNameOf(Tenant)}\".audit_events WHERE entity_type = 'user' AND entity_id = $1",
            connection);
        command.Parameters.AddWithValue(user.Id.ToString());
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("create", reader.GetString(0));
        Assert.Equal("user", reader.GetString(1));
        Assert.Equal(ownerId, reader.GetGuid(2));
        var changes = JsonDocument.Parse(reader.GetString(3)).RootElement;
        Assert.True(changes.GetProperty("password_hash").GetProperty("redacted").GetBoolean());
        Assert.False(changes.GetProperty("password_hash").TryGetProperty("new", out _));
        Assert.False(await reader.ReadAsync()); // the login and the failed login wrote no audit event
    }
}
