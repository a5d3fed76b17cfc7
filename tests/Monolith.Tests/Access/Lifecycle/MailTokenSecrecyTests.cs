using System.Net;
using System.Net.Http.Json;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Access.Lifecycle;

/// <summary>A mail's token reaches its recipient and nobody else: not a response, a log event (captured or in <c>logs.events</c>), nor the audit trail.</summary>
[Trait("Category", Categories.Security)]
[Collection(UserLifecycleCollection.Name)]
public sealed class MailTokenSecrecyTests(UserLifecycleFixture fixture)
{
    [Fact]
    public async Task No_mail_token_is_in_a_response_a_log_or_the_audit_trail()
    {
        var tenant = await fixture.ProvisionAsync("secret");
        using var owner = await fixture.OwnerAsync(tenant);
        using var anonymous = fixture.Anonymous(tenant);
        var bodies = new List<string>();
        async Task<HttpResponseMessage> Keep(Task<HttpResponseMessage> call)
        {
            var response = await call;
            bodies.Add(await response.Content.ReadAsStringAsync());
            return response;
        }

        var invited = $"invited-{Guid.NewGuid():N}@secret.test";
        var invitation = await Keep(owner.PostAsJsonAsync("/invitations", new { email = invited, role = "member" }));
        await Keep(owner.PostAsync($"{invitation.Headers.Location}/resend", null));
        var firstInvitation = await fixture.MailAsync(tenant, invited);
        var secondInvitation = await fixture.MailAsync(tenant, invited);
        await Keep(anonymous.PostAsJsonAsync("/invitations/accept", new { token = firstInvitation.Token, password = "invited-password-123" }));
        Assert.Equal(HttpStatusCode.Created,
            (await Keep(anonymous.PostAsJsonAsync("/invitations/accept", new { token = secondInvitation.Token, password = "invited-password-123" }))).StatusCode);
        await Keep(owner.GetAsync("/invitations"));

        var created = $"created-{Guid.NewGuid():N}@secret.test";
        await Keep(owner.PostAsJsonAsync("/users", new { email = created, name = "Created", role = "viewer", password = "created-password-123" }));
        var verification = await fixture.MailAsync(tenant, created);
        await Keep(anonymous.PostAsJsonAsync("/auth/verify-email", new { token = verification.Token }));

        await Keep(anonymous.PostAsJsonAsync("/auth/password-reset", new { email = created }));
        var reset = await fixture.MailAsync(tenant, created);
        await Keep(anonymous.PostAsJsonAsync("/auth/password-reset/confirm", new { token = reset.Token, password = "reset-password-12345" }));
        await Keep(owner.GetAsync("/audit-events?limit=200"));

        var tokens = new[] { firstInvitation.Token, secondInvitation.Token, verification.Token, reset.Token };
        Assert.All(tokens, t => Assert.True(t.Length >= 22, "at least 128 bits, base64url"));
        Assert.Equal(tokens.Length, tokens.Distinct(StringComparer.Ordinal).Count());

        foreach (var body in bodies)
        {
            Assert.All(tokens, t => Assert.DoesNotContain(t, body, StringComparison.Ordinal));
        }

        var logged = fixture.Logs.Events.ToList();
        Assert.Contains(logged, e => e.Contains(tenant.Identifier, StringComparison.Ordinal));
        Assert.All(logged, e => Assert.All(tokens, t => Assert.DoesNotContain(t, e, StringComparison.Ordinal)));

        // What the database keeps: the trail, the log table, the token tables (hashes only), Hangfire's job arguments.
        await using var connection = new NpgsqlConnection(fixture.Database.ConnectionString);
        await connection.OpenAsync();
        // The log sink writes in batches: wait until this tenant's events are there, so the check below reads them.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        long written = 0;
        while (written == 0 && DateTime.UtcNow < deadline)
        {
            await using var count = new NpgsqlCommand("SELECT count(*) FROM logs.events WHERE tenant = $1", connection);
            count.Parameters.AddWithValue(tenant.Identifier);
            written = (long)(await count.ExecuteScalarAsync())!;
            await Task.Delay(written == 0 ? 200 : 0);
        }

        Assert.True(written > 0, "the tenant's log events reached logs.events");
        var stored = new List<string>();
        foreach (var sql in new[]
                 {
                     $"SELECT e::text FROM \"{tenant.SchemaName}\".audit_events e",
                     $"SELECT t::text FROM \"{tenant.SchemaName}\".account_tokens t",
                     $"SELECT i::text FROM \"{tenant.SchemaName}\".invitations i",
                     "SELECT e::text FROM logs.events e WHERE e.tenant = $1",
                     "SELECT j::text FROM hangfire.job j",
                 })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            if (sql.Contains("$1", StringComparison.Ordinal))
            {
                command.Parameters.AddWithValue(tenant.Identifier);
            }

            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                stored.Add(reader.GetString(0));
            }
        }

        Assert.Contains(stored, s => s.Contains("invitation", StringComparison.Ordinal));
        Assert.All(stored, s => Assert.All(tokens, t => Assert.DoesNotContain(t, s, StringComparison.Ordinal)));
    }
}
