using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Support;

namespace Monolith.Tests.Access.Lifecycle;

/// <summary>Password reset, e-mail verification, the caller's own password and sessions, and ownership transfer, over HTTP.</summary>
[Trait("Category", Categories.Integration)]
[Collection(UserLifecycleCollection.Name)]
public sealed class AccountFlowTests(UserLifecycleFixture fixture)
{
    private const string NewPassword = "a-brand-new-password-42";

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    private static async Task<string> ProblemTypeAsync(HttpResponseMessage response) => (await JsonAsync(response)).GetProperty("type").GetString()!;

    private async Task<HttpStatusCode> LoginStatusAsync(Monolith.Tenancy.Catalog.TenantInfo tenant, string email, string password)
    {
        using var client = fixture.Anonymous(tenant);
        return (await client.PostAsJsonAsync("/auth/token", new { email, password })).StatusCode;
    }

    [Fact]
    public async Task A_reset_answers_alike_for_known_and_unknown_addresses_and_only_the_known_one_gets_mail()
    {
        var tenant = await fixture.ProvisionAsync("rst");
        var (user, _) = await fixture.UserAsync(tenant, "member");
        var unknown = $"nobody-{Guid.NewGuid():N}@rst.test";
        using var anonymous = fixture.Anonymous(tenant);

        var forUnknown = await anonymous.PostAsJsonAsync("/auth/password-reset", new { email = unknown });
        var forKnown = await anonymous.PostAsJsonAsync("/auth/password-reset", new { email = user.Email });
        Assert.Equal(HttpStatusCode.Accepted, forUnknown.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, forKnown.StatusCode);
        Assert.Equal(await forUnknown.Content.ReadAsStringAsync(), await forKnown.Content.ReadAsStringAsync());
        Assert.Equal(forUnknown.Content.Headers.ContentLength, forKnown.Content.Headers.ContentLength);

        // One worker runs the jobs in order: once the known address's mail is there, the unknown one's job has run.
        var mail = await fixture.MailAsync(tenant, user.Email);
        Assert.Contains($"https://app.example.test/reset-password?tenant={tenant.Identifier}&token=", mail.Text, StringComparison.Ordinal);
        Assert.Equal(0L, await fixture.MailCountAsync(tenant, unknown));
        Assert.False(fixture.Received(unknown));
        Assert.Equal(0L, await fixture.ScalarAsync<long>(tenant, "SELECT count(*) FROM account_tokens t JOIN users u ON u.id = t.user_id WHERE lower(u.email) = lower($1)", unknown));
        Assert.Equal(HttpStatusCode.BadRequest, (await anonymous.PostAsJsonAsync("/auth/password-reset", new { email = "not an address" })).StatusCode);
    }

    [Fact]
    public async Task A_flood_of_reset_requests_for_one_address_sends_one_mail_a_minute()
    {
        var tenant = await fixture.ProvisionAsync("rst");
        var (user, _) = await fixture.UserAsync(tenant, "member");
        var (other, _) = await fixture.UserAsync(tenant, "member");
        using var anonymous = fixture.Anonymous(tenant);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await anonymous.PostAsJsonAsync("/auth/password-reset", new { email = user.Email })).StatusCode);
        }

        // The jobs run in order: once the other address's mail is there, the five requests' jobs have run.
        await anonymous.PostAsJsonAsync("/auth/password-reset", new { email = other.Email });
        await fixture.MailAsync(tenant, other.Email);
        var first = await fixture.MailAsync(tenant, user.Email);
        Assert.Equal(2L, await fixture.MailCountAsync(tenant, user.Email)); // its verification mail and one reset mail

        var started = fixture.Clock.Now;
        try
        {
            fixture.Clock.Now = started.AddSeconds(61);
            await anonymous.PostAsJsonAsync("/auth/password-reset", new { email = user.Email });
            var second = await fixture.MailAsync(tenant, user.Email);
            Assert.NotEqual(first.Token, second.Token);
            // The newer link is the one that works.
            Assert.Equal("/problems/invalid-token", await ProblemTypeAsync(
                await anonymous.PostAsJsonAsync("/auth/password-reset/confirm", new { token = first.Token, password = NewPassword })));
            Assert.Equal(HttpStatusCode.NoContent,
                (await anonymous.PostAsJsonAsync("/auth/password-reset/confirm", new { token = second.Token, password = NewPassword })).StatusCode);
        }
        finally
        {
            fixture.Clock.Now = started;
        }
    }

    [Fact]
    public async Task A_reset_token_works_once_ends_every_session_and_replaces_the_password()
    {
        var tenant = await fixture.ProvisionAsync("rst");
        var (user, _) = await fixture.UserAsync(tenant, "viewer");
        var session = await fixture.Factory.LoginAsync(tenant.Identifier, user.Email, user.Password);
        using var anonymous = fixture.Anonymous(tenant);
        await anonymous.PostAsJsonAsync("/auth/password-reset", new { email = user.Email });
        var mail = await fixture.MailAsync(tenant, user.Email);

        var weak = await anonymous.PostAsJsonAsync("/auth/password-reset/confirm", new { token = mail.Token, password = "short" });
        Assert.Equal(HttpStatusCode.BadRequest, weak.StatusCode);
        Assert.True((await JsonAsync(weak)).GetProperty("errors").TryGetProperty("password", out _));

        Assert.Equal(HttpStatusCode.NoContent, (await anonymous.PostAsJsonAsync("/auth/password-reset/confirm", new { token = mail.Token, password = NewPassword })).StatusCode);
        var twice = await anonymous.PostAsJsonAsync("/auth/password-reset/confirm", new { token = mail.Token, password = NewPassword + "x" });
        Assert.Equal(HttpStatusCode.BadRequest, twice.StatusCode);
        Assert.Equal("/problems/invalid-token", await ProblemTypeAsync(twice));

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/auth/refresh", new { refreshToken = session.RefreshToken })).StatusCode);
        using var old = fixture.Anonymous(tenant).WithBearer(session.AccessToken);
        Assert.True(await UntilAsync(async () => (await old.GetAsync("/me")).StatusCode == HttpStatusCode.Unauthorized));
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginStatusAsync(tenant, user.Email, user.Password));
        Assert.Equal(HttpStatusCode.OK, await LoginStatusAsync(tenant, user.Email, NewPassword));

        var unknown = await anonymous.PostAsJsonAsync("/auth/password-reset/confirm", new { token = "bm90LWEtdG9rZW4", password = NewPassword });
        Assert.Equal("/problems/invalid-token", await ProblemTypeAsync(unknown));
    }

    [Fact]
    public async Task A_reset_token_expires_after_an_hour()
    {
        var tenant = await fixture.ProvisionAsync("rst");
        var (user, _) = await fixture.UserAsync(tenant, "member");
        using var anonymous = fixture.Anonymous(tenant);
        await anonymous.PostAsJsonAsync("/auth/password-reset", new { email = user.Email });
        var mail = await fixture.MailAsync(tenant, user.Email);

        var started = fixture.Clock.Now;
        try
        {
            fixture.Clock.Now = started.AddMinutes(61);
            var late = await anonymous.PostAsJsonAsync("/auth/password-reset/confirm", new { token = mail.Token, password = NewPassword });
            Assert.Equal(HttpStatusCode.BadRequest, late.StatusCode);
            Assert.Equal("/problems/invalid-token", await ProblemTypeAsync(late));
        }
        finally
        {
            fixture.Clock.Now = started;
        }

        Assert.Equal(HttpStatusCode.OK, await LoginStatusAsync(tenant, user.Email, user.Password));
    }

    [Fact]
    public async Task With_verified_addresses_required_an_unverified_user_signs_in_only_after_verifying()
    {
        var tenant = await fixture.ProvisionAsync("vfy");
        using var owner = await fixture.OwnerAsync(tenant);
        Assert.Equal(HttpStatusCode.OK, (await owner.PutAsJsonAsync("/settings/access.require-verified-email", new { value = true })).StatusCode);
        var email = $"unverified-{Guid.NewGuid():N}@vfy.test";
        const string password = "unverified-password-1";
        var created = await owner.PostAsJsonAsync("/users", new { email, name = "Unverified", role = "member", password });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.False((await JsonAsync(created)).GetProperty("emailVerified").GetBoolean());

        using var anonymous = fixture.Anonymous(tenant);
        var refused = await anonymous.PostAsJsonAsync("/auth/token", new { email, password });
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("/problems/email-unverified", await ProblemTypeAsync(refused));
        // The wrong password is told nothing about verification.
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginStatusAsync(tenant, email, "a-wrong-password-123"));

        var mail = await fixture.MailAsync(tenant, email);
        Assert.Contains("verify-email?tenant=", mail.Text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, (await anonymous.PostAsJsonAsync("/auth/verify-email", new { token = mail.Token })).StatusCode);
        Assert.Equal("/problems/invalid-token", await ProblemTypeAsync(await anonymous.PostAsJsonAsync("/auth/verify-email", new { token = mail.Token })));
        Assert.Equal(HttpStatusCode.OK, await LoginStatusAsync(tenant, email, password));
    }

    [Fact]
    public async Task A_changed_address_is_unverified_until_its_mail_is_answered()
    {
        var tenant = await fixture.ProvisionAsync("vfy");
        using var owner = await fixture.OwnerAsync(tenant);
        var (user, client) = await fixture.UserAsync(tenant, "viewer");
        var changed = $"moved-{Guid.NewGuid():N}@vfy.test";
        var patched = await owner.PatchAsJsonAsync($"/users/{user.Id}", new { email = changed });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        Assert.False((await JsonAsync(patched)).GetProperty("emailVerified").GetBoolean());
        var mail = await fixture.MailAsync(tenant, changed);
        Assert.Equal(HttpStatusCode.NoContent, (await fixture.Anonymous(tenant).PostAsJsonAsync("/auth/verify-email", new { token = mail.Token })).StatusCode);
        Assert.True((await owner.GetFromJsonAsync<JsonElement>($"/users/{user.Id}")).GetProperty("emailVerified").GetBoolean());

        // Asking for another mail when verified is 409; the audit trail shows the verification as a change.
        using var moved = await fixture.SignedInAsync(tenant, changed, user.Password);
        Assert.Equal(HttpStatusCode.Conflict, (await moved.PostAsync("/me/verify-email", null)).StatusCode);
        var trail = await owner.GetFromJsonAsync<JsonElement>($"/audit-events?entityType=user&entityId={user.Id}");
        var verifiedEvent = Assert.Single(trail.GetProperty("items").EnumerateArray(), e =>
            e.GetProperty("changes").TryGetProperty("emailVerified", out var change) && change.GetProperty("new").GetBoolean());
        // The anonymous request acted for the user its token names.
        Assert.Equal(user.Id, verifiedEvent.GetProperty("actor").GetProperty("id").GetGuid());
        client.Dispose();
    }

    [Fact]
    public async Task A_viewer_changes_their_own_password_and_their_other_sessions_end()
    {
        var tenant = await fixture.ProvisionAsync("pwd");
        var (user, current) = await fixture.UserAsync(tenant, "viewer");
        var other = await fixture.Factory.LoginAsync(tenant.Identifier, user.Email, user.Password);

        var wrong = await current.PostAsJsonAsync("/me/password", new { currentPassword = "not-my-password-at-all", newPassword = NewPassword });
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.True((await JsonAsync(wrong)).GetProperty("errors").TryGetProperty("currentPassword", out _));
        Assert.Equal(HttpStatusCode.OK, await LoginStatusAsync(tenant, user.Email, user.Password));

        Assert.Equal(HttpStatusCode.NoContent, (await current.PostAsJsonAsync("/me/password", new { currentPassword = user.Password, newPassword = NewPassword })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await current.GetAsync("/me")).StatusCode);
        using var otherClient = fixture.Anonymous(tenant).WithBearer(other.AccessToken);
        Assert.True(await UntilAsync(async () => (await otherClient.GetAsync("/me")).StatusCode == HttpStatusCode.Unauthorized));
        Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.Anonymous(tenant).PostAsJsonAsync("/auth/refresh", new { refreshToken = other.RefreshToken })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginStatusAsync(tenant, user.Email, user.Password));
        Assert.Equal(HttpStatusCode.OK, await LoginStatusAsync(tenant, user.Email, NewPassword));
        current.Dispose();
    }

    [Fact]
    public async Task A_user_lists_their_sessions_and_ends_one_but_not_someone_elses()
    {
        var tenant = await fixture.ProvisionAsync("ses");
        var (user, first) = await fixture.UserAsync(tenant, "member");
        var second = await fixture.Factory.LoginAsync(tenant.Identifier, user.Email, user.Password);
        var (_, stranger) = await fixture.UserAsync(tenant, "admin");

        var sessions = (await first.GetFromJsonAsync<JsonElement>("/me/sessions")).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, sessions.Count);
        Assert.Single(sessions, s => s.GetProperty("current").GetBoolean());
        var otherId = sessions.Single(s => !s.GetProperty("current").GetBoolean()).GetProperty("id").GetGuid();

        Assert.Equal(HttpStatusCode.NotFound, (await stranger.DeleteAsync($"/me/sessions/{otherId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await first.DeleteAsync($"/me/sessions/{otherId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await first.DeleteAsync($"/me/sessions/{otherId}")).StatusCode);
        using var ended = fixture.Anonymous(tenant).WithBearer(second.AccessToken);
        Assert.True(await UntilAsync(async () => (await ended.GetAsync("/me")).StatusCode == HttpStatusCode.Unauthorized));
        Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.Anonymous(tenant).PostAsJsonAsync("/auth/refresh", new { refreshToken = second.RefreshToken })).StatusCode);
        Assert.Single((await first.GetFromJsonAsync<JsonElement>("/me/sessions")).GetProperty("items").EnumerateArray());
        first.Dispose();
        stranger.Dispose();
    }

    [Fact]
    public async Task Ownership_moves_in_one_step_and_only_an_owner_can_move_it()
    {
        var tenant = await fixture.ProvisionAsync("own");
        using var owner = await fixture.OwnerAsync(tenant);
        var ownerId = (await owner.GetFromJsonAsync<JsonElement>("/me")).GetProperty("id").GetGuid();
        var (member, _) = await fixture.UserAsync(tenant, "member");
        var (_, admin) = await fixture.UserAsync(tenant, "admin");

        Assert.Equal(HttpStatusCode.Forbidden, (await admin.PostAsJsonAsync("/me/transfer-ownership", new { userId = member.Id })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await owner.PostAsJsonAsync("/me/transfer-ownership", new { userId = ownerId })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.PostAsJsonAsync("/me/transfer-ownership", new { userId = Guid.NewGuid() })).StatusCode);

        var moved = await owner.PostAsJsonAsync("/me/transfer-ownership", new { userId = member.Id });
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        Assert.Equal("owner", (await JsonAsync(moved)).GetProperty("role").GetString());
        using var newOwner = await fixture.SignedInAsync(tenant, member.Email, member.Password);
        var users = (await newOwner.GetFromJsonAsync<JsonElement>("/users")).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal("admin", users.Single(u => u.GetProperty("id").GetGuid() == ownerId).GetProperty("role").GetString());
        Assert.Single(users, u => u.GetProperty("role").GetString() == "owner");
        // The former owner is an admin now, on this request path within a second: a second transfer is refused.
        Assert.True(await UntilAsync(async () =>
            (await owner.PostAsJsonAsync("/me/transfer-ownership", new { userId = member.Id })).StatusCode == HttpStatusCode.Forbidden));
        admin.Dispose();
    }

    /// <summary>CONTRACT §3: access follows the user's state within 1 s.</summary>
    private static async Task<bool> UntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(1);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(50);
        }

        return false;
    }
}
