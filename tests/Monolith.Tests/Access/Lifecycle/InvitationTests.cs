using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Support;

namespace Monolith.Tests.Access.Lifecycle;

[Trait("Category", Categories.Integration)]
[Collection(UserLifecycleCollection.Name)]
public sealed class InvitationTests(UserLifecycleFixture fixture)
{
    private const string Password = "a-long-enough-password";

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    private static async Task<string> ProblemTypeAsync(HttpResponseMessage response) => (await JsonAsync(response)).GetProperty("type").GetString()!;

    [Fact]
    public async Task An_invitation_mail_leads_to_a_signed_in_user_with_the_invited_role_and_a_verified_address()
    {
        var tenant = await fixture.ProvisionAsync("inv");
        using var owner = await fixture.OwnerAsync(tenant);
        var email = $"new-{Guid.NewGuid():N}@inv.test";

        var created = await owner.PostAsJsonAsync("/invitations", new { email, role = "member", name = "New Member" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var invitation = await JsonAsync(created);
        Assert.Equal("pending", invitation.GetProperty("status").GetString());
        Assert.Equal("member", invitation.GetProperty("role").GetString());
        Assert.Equal(UserLifecycleFixture.OwnerEmail(tenant.Identifier), invitation.GetProperty("invitedBy").GetProperty("email").GetString());
        Assert.False(invitation.TryGetProperty("token", out _));
        Assert.Equal($"/invitations/{invitation.GetProperty("id").GetGuid()}", created.Headers.Location?.ToString());

        var mail = await fixture.MailAsync(tenant, email);
        Assert.Contains($"https://app.example.test/accept-invitation?tenant={tenant.Identifier}&token=", mail.Text, StringComparison.Ordinal);
        Assert.Contains("accept-invitation", mail.Html, StringComparison.Ordinal);

        using var anonymous = fixture.Anonymous(tenant);
        var accepted = await anonymous.PostAsJsonAsync("/invitations/accept", new { token = mail.Token, password = Password });
        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        var tokens = await JsonAsync(accepted);
        using var newcomer = fixture.Anonymous(tenant).WithBearer(tokens.GetProperty("accessToken").GetString()!);
        var me = await newcomer.GetFromJsonAsync<JsonElement>("/me");
        Assert.Equal(email, me.GetProperty("email").GetString());
        Assert.Equal("New Member", me.GetProperty("name").GetString());
        Assert.Equal("member", me.GetProperty("role").GetString());
        Assert.True(me.GetProperty("emailVerified").GetBoolean());

        // The link works once; the invitation reads accepted; the password signs in.
        var again = await anonymous.PostAsJsonAsync("/invitations/accept", new { token = mail.Token, password = Password });
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Equal("/problems/invalid-token", await ProblemTypeAsync(again));
        var listed = await owner.GetFromJsonAsync<JsonElement>("/invitations?status=accepted");
        Assert.Contains(listed.GetProperty("items").EnumerateArray(), i => i.GetProperty("email").GetString() == email);
        await fixture.SignedInAsync(tenant, email, Password);
    }

    [Fact]
    public async Task A_resend_kills_the_first_link_and_a_cancel_kills_the_second()
    {
        var tenant = await fixture.ProvisionAsync("inv");
        using var owner = await fixture.OwnerAsync(tenant);
        using var anonymous = fixture.Anonymous(tenant);
        var email = $"resend-{Guid.NewGuid():N}@inv.test";
        var id = (await JsonAsync(await owner.PostAsJsonAsync("/invitations", new { email, role = "viewer" }))).GetProperty("id").GetGuid();
        var first = await fixture.MailAsync(tenant, email);

        var resent = await owner.PostAsync($"/invitations/{id}/resend", null);
        Assert.Equal(HttpStatusCode.OK, resent.StatusCode);
        var second = await fixture.MailAsync(tenant, email);
        Assert.NotEqual(first.Token, second.Token);
        Assert.Equal("/problems/invalid-token",
            await ProblemTypeAsync(await anonymous.PostAsJsonAsync("/invitations/accept", new { token = first.Token, password = Password })));

        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"/invitations/{id}")).StatusCode);
        var refused = await anonymous.PostAsJsonAsync("/invitations/accept", new { token = second.Token, password = Password });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("/problems/invalid-token", await ProblemTypeAsync(refused));
        var cancelled = await owner.GetFromJsonAsync<JsonElement>("/invitations?status=cancelled");
        Assert.Contains(cancelled.GetProperty("items").EnumerateArray(), i => i.GetProperty("id").GetGuid() == id);
        Assert.Equal(0L, await fixture.ScalarAsync<long>(tenant, "SELECT count(*) FROM users WHERE lower(email) = lower($1)", email));
    }

    [Fact]
    public async Task An_invitation_expires_and_the_address_can_be_invited_again()
    {
        var tenant = await fixture.ProvisionAsync("inv");
        using var owner = await fixture.OwnerAsync(tenant);
        using var anonymous = fixture.Anonymous(tenant);
        var email = $"late-{Guid.NewGuid():N}@inv.test";
        Assert.Equal(HttpStatusCode.Created, (await owner.PostAsJsonAsync("/invitations", new { email, role = "viewer" })).StatusCode);
        var mail = await fixture.MailAsync(tenant, email);

        var started = fixture.Clock.Now;
        try
        {
            fixture.Clock.Now = started.AddHours(72).AddMinutes(1);
            var refused = await anonymous.PostAsJsonAsync("/invitations/accept", new { token = mail.Token, password = Password });
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("/problems/invalid-token", await ProblemTypeAsync(refused));
            var expired = await owner.GetFromJsonAsync<JsonElement>("/invitations?status=expired");
            Assert.Contains(expired.GetProperty("items").EnumerateArray(), i => i.GetProperty("email").GetString() == email);
            Assert.Equal(HttpStatusCode.Created, (await owner.PostAsJsonAsync("/invitations", new { email, role = "member" })).StatusCode);
        }
        finally
        {
            fixture.Clock.Now = started;
        }
    }

    [Fact]
    public async Task Nobody_invites_above_their_role_and_an_address_is_invited_once()
    {
        var tenant = await fixture.ProvisionAsync("inv");
        var (admin, adminClient) = await fixture.UserAsync(tenant, "admin");
        var (_, memberClient) = await fixture.UserAsync(tenant, "member");
        var email = $"dup-{Guid.NewGuid():N}@inv.test";

        var escalation = await adminClient.PostAsJsonAsync("/invitations", new { email, role = "owner" });
        Assert.Equal(HttpStatusCode.Forbidden, escalation.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await memberClient.PostAsJsonAsync("/invitations", new { email, role = "viewer" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await memberClient.GetAsync("/invitations")).StatusCode);

        Assert.Equal(HttpStatusCode.Created, (await adminClient.PostAsJsonAsync("/invitations", new { email, role = "admin" })).StatusCode);
        var duplicate = await adminClient.PostAsJsonAsync("/invitations", new { email = email.ToUpperInvariant(), role = "viewer" });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        Assert.Equal("/problems/invitation-pending", await ProblemTypeAsync(duplicate));
        var user = await adminClient.PostAsJsonAsync("/invitations", new { email = admin.Email, role = "viewer" });
        Assert.Equal(HttpStatusCode.Conflict, user.StatusCode);
        Assert.Equal("/problems/email-taken", await ProblemTypeAsync(user));

        var invalid = await adminClient.PostAsJsonAsync("/invitations", new { email = "not-an-address", role = "chief" });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var errors = (await JsonAsync(invalid)).GetProperty("errors");
        Assert.True(errors.TryGetProperty("email", out _));
        Assert.True(errors.TryGetProperty("role", out _));
        Assert.Equal(1L, await fixture.MailCountAsync(tenant, email));
    }

    [Fact]
    public async Task A_bulk_invitation_answers_each_item_on_its_own()
    {
        var tenant = await fixture.ProvisionAsync("inv");
        var (admin, adminClient) = await fixture.UserAsync(tenant, "admin");
        var fresh = $"bulk-{Guid.NewGuid():N}@inv.test";
        var response = await adminClient.PostAsJsonAsync("/invitations/bulk", new
        {
            invitations = new object[]
            {
                new { email = fresh, role = "member" },
                new { email = "broken", role = "member" },
                new { email = $"boss-{Guid.NewGuid():N}@inv.test", role = "owner" },
                new { email = fresh, role = "viewer" },
                new { email = admin.Email, role = "viewer" },
            },
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var results = (await JsonAsync(response)).GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([201, 400, 403, 409, 409], results.Select(r => r.GetProperty("status").GetInt32()));
        Assert.NotEqual(Guid.Empty, results[0].GetProperty("id").GetGuid());
        Assert.All(results.Skip(1), r => Assert.False(string.IsNullOrEmpty(r.GetProperty("title").GetString())));
        Assert.Equal(1L, await fixture.ScalarAsync<long>(tenant, "SELECT count(*) FROM invitations"));

        var tooMany = Enumerable.Range(0, 101).Select(i => new { email = $"n{i}@inv.test", role = "viewer" }).ToArray();
        Assert.Equal(HttpStatusCode.BadRequest, (await adminClient.PostAsJsonAsync("/invitations/bulk", new { invitations = tooMany })).StatusCode);
        Assert.Equal(1L, await fixture.ScalarAsync<long>(tenant, "SELECT count(*) FROM invitations"));
    }

    [Fact]
    public async Task Another_tenants_invitations_and_links_are_unreachable()
    {
        var alpha = await fixture.ProvisionAsync("inva");
        var beta = await fixture.ProvisionAsync("invb");
        using var alphaOwner = await fixture.OwnerAsync(alpha);
        using var betaOwner = await fixture.OwnerAsync(beta);
        var email = $"cross-{Guid.NewGuid():N}@inv.test";
        var id = (await JsonAsync(await alphaOwner.PostAsJsonAsync("/invitations", new { email, role = "viewer" }))).GetProperty("id").GetGuid();
        var mail = await fixture.MailAsync(alpha, email);

        Assert.Equal(HttpStatusCode.NotFound, (await betaOwner.DeleteAsync($"/invitations/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await betaOwner.PostAsync($"/invitations/{id}/resend", null)).StatusCode);
        Assert.DoesNotContain((await betaOwner.GetFromJsonAsync<JsonElement>("/invitations")).GetProperty("items").EnumerateArray(),
            i => i.GetProperty("id").GetGuid() == id);
        using var betaAnonymous = fixture.Anonymous(beta);
        var refused = await betaAnonymous.PostAsJsonAsync("/invitations/accept", new { token = mail.Token, password = Password });
        Assert.Equal("/problems/invalid-token", await ProblemTypeAsync(refused));
        Assert.Equal(0L, await fixture.ScalarAsync<long>(beta, "SELECT count(*) FROM users WHERE lower(email) = lower($1)", email));
    }
}
