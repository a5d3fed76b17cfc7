using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tenancy.Catalog;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Access;

/// <summary>
/// On a host of their own (<see cref="AccessHostFixture"/>), inside the integration collection so that the shared
/// host has migrated the platform schema before this one starts.
/// </summary>
[Collection(IntegrationCollection.Name)]
[Trait("Category", Categories.Security)]
public sealed class RateLimitAndSecretsTests(AccessHostFixture host) : IClassFixture<AccessHostFixture>
{
    private static object Wrong(string tenant) => new { email = MonolithFixture.OwnerEmail(tenant), password = "definitely-not-it" };

    private static object Right(string tenant) => new { email = MonolithFixture.OwnerEmail(tenant), password = MonolithFixture.OwnerPassword };

    [Fact]
    public async Task An_account_answers_429_after_too_many_failures_and_recovers_after_the_window()
    {
        var tenant = await host.ProvisionAsync("lock");
        var client = host.Factory.TenantClient(tenant);
        for (var i = 0; i < AccessHostFixture.AccountMaxFailures; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/auth/token", Wrong(tenant))).StatusCode);
        }

        // Locked: even the right password is refused until the window ends.
        var locked = await client.PostAsJsonAsync("/auth/token", Right(tenant));
        Assert.Equal((HttpStatusCode)429, locked.StatusCode);
        var retryAfter = int.Parse(locked.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, AccessHostFixture.LockoutWindowSeconds);
        Assert.Equal("/problems/rate-limited", (await locked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());

        await Task.Delay(TimeSpan.FromSeconds(retryAfter + 0.3));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/auth/token", Right(tenant))).StatusCode);

        // A success resets the count: one more failure is a plain 401 again.
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/auth/token", Wrong(tenant))).StatusCode);
    }

    [Fact]
    public async Task The_failure_count_lives_in_the_database_per_address_without_the_address()
    {
        var tenant = await host.ProvisionAsync("count");
        var client = host.Factory.TenantClient(tenant);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/auth/token", Wrong(tenant))).StatusCode);
        // The same address in other letter cases counts against the same counter.
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/auth/token",
            new { email = MonolithFixture.OwnerEmail(tenant).ToUpperInvariant(), password = "definitely-not-it" })).StatusCode);

        var info = (await host.Factory.Services.GetRequiredService<TenantCatalog>().FindAsync(tenant, CancellationToken.None))!;
        var database = await TestDatabase.Shared;
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT failures, (SELECT count(*) FROM \"{info.SchemaName}\".login_failures) FROM \"{info.SchemaName}\".login_failures WHERE address_hash = sha256(convert_to(lower($1), 'UTF8'))",
            connection);
        command.Parameters.AddWithValue(MonolithFixture.OwnerEmail(tenant));
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(2, reader.GetInt32(0));
        Assert.Equal(1L, reader.GetInt64(1));
    }

    [Fact]
    public async Task Login_attempts_per_tenant_and_address_answer_429_with_retry_after_then_recover()
    {
        var tenant = await host.ProvisionAsync("flood");
        var client = host.Factory.TenantClient(tenant);
        // All at once, so they land in one window however slow the machine is.
        var responses = await Task.WhenAll(Enumerable.Range(0, AccessHostFixture.LoginPermitLimit * 2).Select(i =>
            client.PostAsJsonAsync("/auth/token", new { email = $"nobody{i}@{tenant}.test", password = "whatever-it-is-123" })));
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Unauthorized or (HttpStatusCode)429, r.StatusCode.ToString()));
        var limited = responses.FirstOrDefault(r => (int)r.StatusCode == 429);
        Assert.NotNull(limited);
        Assert.True(limited.Headers.Contains("Retry-After"));

        // Another tenant's logins are not affected by this one's flood.
        var other = await host.ProvisionAsync("calm");
        Assert.Equal(HttpStatusCode.OK, (await host.Factory.TenantClient(other).PostAsJsonAsync("/auth/token", Right(other))).StatusCode);

        await Task.Delay(TimeSpan.FromSeconds(AccessHostFixture.LoginWindowSeconds + 0.5));
        var recovered = await client.PostAsJsonAsync("/auth/token", Right(tenant));
        Assert.True(recovered.StatusCode == HttpStatusCode.OK, $"{recovered.StatusCode} {recovered.Headers} {await recovered.Content.ReadAsStringAsync()}");
    }

    [Theory]
    [InlineData("/auth/password-reset")]
    [InlineData("/auth/password-reset/confirm")]
    [InlineData("/auth/verify-email")]
    [InlineData("/invitations/accept")]
    public async Task The_anonymous_mail_token_endpoints_count_per_tenant_and_address_like_login(string path)
    {
        var tenant = await host.ProvisionAsync("mailflood");
        var client = host.Factory.TenantClient(tenant);
        var body = new { email = $"someone@{tenant}.test", token = "not-a-real-token-at-all", password = "a-long-enough-password" };
        var responses = await Task.WhenAll(Enumerable.Range(0, AccessHostFixture.LoginPermitLimit * 2).Select(_ => client.PostAsJsonAsync(path, body)));
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.BadRequest or (HttpStatusCode)429, r.StatusCode.ToString()));
        Assert.Contains(responses, r => (int)r.StatusCode == 429 && r.Headers.Contains("Retry-After"));

        // Another address of the same tenant is not limited by this one's flood.
        using var elsewhere = host.Factory.TenantClient(tenant);
        elsewhere.DefaultRequestHeaders.Add(TestPeerAddress.Header, "192.0.2.77");
        Assert.NotEqual((HttpStatusCode)429, (await elsewhere.PostAsJsonAsync(path, body)).StatusCode);
    }

    [Fact]
    public async Task Signed_in_requests_are_limited_per_user_and_under_a_tenant_ceiling()
    {
        var tenant = await host.ProvisionAsync("busy");
        var owner = await host.Factory.LoginAsync(tenant, MonolithFixture.OwnerEmail(tenant), MonolithFixture.OwnerPassword);
        var ownerClient = host.Factory.TenantClient(tenant).WithBearer(owner.AccessToken);
        var created = await ownerClient.PostAsJsonAsync("/users", new { email = $"second@{tenant}.test", name = "Second", role = "viewer", password = "second-user-password" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var second = await host.Factory.LoginAsync(tenant, $"second@{tenant}.test", "second-user-password");
        var secondClient = host.Factory.TenantClient(tenant).WithBearer(second.AccessToken);

        // One user past the per-user limit.
        var statuses = new List<int>();
        for (var i = 0; i < AccessHostFixture.UserPermitLimit + 5; i++)
        {
            statuses.Add((int)(await ownerClient.GetAsync("/settings")).StatusCode);
        }

        Assert.Contains(429, statuses);
        Assert.Contains(200, statuses);
        Assert.All(statuses, s => Assert.True(s is 200 or 429, s.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        // Another user of the tenant has a budget of their own, until the tenant's ceiling.
        Assert.Equal(HttpStatusCode.OK, (await secondClient.GetAsync("/settings")).StatusCode);
        var limited = false;
        for (var i = 0; i < AccessHostFixture.TenantPermitLimit && !limited; i++)
        {
            limited = (int)(await secondClient.GetAsync("/settings")).StatusCode == 429;
        }

        Assert.True(limited);

        // Another tenant has a budget of its own.
        var other = await host.ProvisionAsync("idle");
        var otherTokens = await host.Factory.LoginAsync(other, MonolithFixture.OwnerEmail(other), MonolithFixture.OwnerPassword);
        Assert.Equal(HttpStatusCode.OK, (await host.Factory.TenantClient(other).WithBearer(otherTokens.AccessToken).GetAsync("/settings")).StatusCode);
    }

    [Fact]
    public async Task Passwords_hashes_and_tokens_never_appear_in_responses_or_logs()
    {
        var tenant = await host.ProvisionAsync("secret");
        var bodies = new List<string>();
        var secrets = new List<string> { MonolithFixture.OwnerPassword };

        async Task<HttpResponseMessage> Keep(Task<HttpResponseMessage> call)
        {
            var response = await call;
            bodies.Add(await response.Content.ReadAsStringAsync());
            return response;
        }

        var client = host.Factory.TenantClient(tenant);
        var login = await Keep(client.PostAsJsonAsync("/auth/token", Right(tenant)));
        var pair = await login.Content.ReadFromJsonAsync<JsonElement>();
        var access = pair.GetProperty("accessToken").GetString()!;
        var refresh = pair.GetProperty("refreshToken").GetString()!;
        client.WithBearer(access);

        const string memberPassword = "member-password-for-the-log-test";
        secrets.Add(memberPassword);
        var created = await Keep(client.PostAsJsonAsync("/users", new { email = $"m@{tenant}.test", name = "M", role = "member", password = memberPassword }));
        var memberId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await Keep(client.GetAsync($"/users/{memberId}"));
        await Keep(client.GetAsync("/users"));
        await Keep(client.PatchAsJsonAsync($"/users/{memberId}", new { password = memberPassword + "-changed" }));
        secrets.Add(memberPassword + "-changed");
        await Keep(client.PostAsJsonAsync("/auth/token", new { email = $"m@{tenant}.test", password = "wrong-password-for-the-log-test" }));
        secrets.Add("wrong-password-for-the-log-test");
        var refreshed = await Keep(client.PostAsJsonAsync("/auth/refresh", new { refreshToken = refresh }));
        var refresh2 = (await refreshed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refreshToken").GetString()!;
        await Keep(client.PostAsJsonAsync("/auth/refresh", new { refreshToken = refresh }));
        await Keep(client.PostAsJsonAsync("/auth/logout", new { refreshToken = refresh2 }));
        await Keep(client.GetAsync("/me"));

        // The stored hashes, read from the database.
        var info = (await host.Factory.Services.GetRequiredService<TenantCatalog>().FindAsync(tenant, CancellationToken.None))!;
        var database = await TestDatabase.Shared;
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"SELECT password_hash FROM \"{info.SchemaName}\".users", connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                secrets.Add(reader.GetString(0));
            }
        }

        Assert.True(secrets.Count >= 5);
        var responseSecrets = secrets;
        foreach (var body in bodies)
        {
            foreach (var secret in responseSecrets)
            {
                Assert.DoesNotContain(secret, body, StringComparison.Ordinal);
            }

            Assert.DoesNotContain("passwordHash", body, StringComparison.OrdinalIgnoreCase);
        }

        // Tokens belong in the login/refresh answers only; in the logs, nothing of any of them.
        var logSecrets = secrets.Concat([access, refresh, refresh2, access.Split('.')[2]]).ToList();
        var logs = host.Logs.Events.ToList();
        Assert.NotEmpty(logs);
        Assert.Contains(logs, e => e.Contains(tenant, StringComparison.Ordinal));
        // The session of `access` ended (refresh reuse, then logout): a fresh one reads the owner's id.
        var again = await host.Factory.LoginAsync(tenant, MonolithFixture.OwnerEmail(tenant), MonolithFixture.OwnerPassword);
        var ownerId = (await host.Factory.TenantClient(tenant).WithBearer(again.AccessToken).GetFromJsonAsync<JsonElement>("/me")).GetProperty("id").GetString();
        Assert.Contains(host.Logs.Events, e => e.Contains($"UserId=\"{ownerId}\"", StringComparison.Ordinal) || e.Contains($"UserId={ownerId}", StringComparison.Ordinal));
        foreach (var line in logs)
        {
            foreach (var secret in logSecrets)
            {
                Assert.DoesNotContain(secret, line, StringComparison.Ordinal);
            }
        }
    }
}
