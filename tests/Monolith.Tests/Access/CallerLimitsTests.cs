using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Support;

namespace Monolith.Tests.Access;

/// <summary>
/// Limits per caller (CONTRACT §3) and the lockout (§5), on the Access host with low limits
/// (<see cref="AccessHostFixture"/>): each test provisions a tenant of its own.
/// </summary>
[Collection(IntegrationCollection.Name)]
[Trait("Category", Categories.Security)]
public sealed class CallerLimitsTests(AccessHostFixture host) : IClassFixture<AccessHostFixture>
{
    private const string Wrong = "definitely-not-the-password";

    [Fact]
    public async Task Seven_thousand_anonymous_requests_leave_the_tenants_signed_in_users_without_a_single_429()
    {
        var tenant = await host.ProvisionAsync("flood");
        var owner = await host.Factory.LoginAsync(tenant, MonolithFixture.OwnerEmail(tenant), MonolithFixture.OwnerPassword);
        var signedIn = host.Factory.TenantClient(tenant).WithBearer(owner.AccessToken);
        var anonymous = host.Factory.TenantClient(tenant);
        var anonymousStatuses = new ConcurrentBag<int>();

        var flood = Task.Run(async () =>
        {
            for (var batch = 0; batch < 70; batch++)
            {
                var answers = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ =>
                    anonymous.PostAsJsonAsync("/auth/logout", new { refreshToken = "not-a-refresh-token-of-anyone" })));
                foreach (var answer in answers)
                {
                    anonymousStatuses.Add((int)answer.StatusCode);
                }
            }
        });

        var userStatuses = new List<int>();
        string[] paths = ["/customers", "/features", "/settings", "/me"];
        while (!flood.IsCompleted && userStatuses.Count < 24)
        {
            userStatuses.Add((int)(await signedIn.GetAsync(paths[userStatuses.Count % paths.Length])).StatusCode);
            await Task.Delay(25);
        }

        await flood;
        for (var i = 0; i < 4; i++)
        {
            userStatuses.Add((int)(await signedIn.GetAsync(paths[i])).StatusCode);
        }

        Assert.Equal(7000, anonymousStatuses.Count);
        Assert.All(anonymousStatuses, s => Assert.True(s is 204 or 429, s.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(anonymousStatuses.Count(s => s == 429) > 6000, "the anonymous caller is limited");
        Assert.All(userStatuses, s => Assert.Equal(200, s));

        // The anonymous caller's own limit does not spill onto other addresses either: a login from elsewhere answers.
        var elsewhere = host.Factory.TenantClient(tenant);
        elsewhere.DefaultRequestHeaders.Add(TestPeerAddress.Header, "198.51.100.7");
        Assert.Equal(HttpStatusCode.OK, (await elsewhere.PostAsJsonAsync("/auth/token",
            new { email = MonolithFixture.OwnerEmail(tenant), password = MonolithFixture.OwnerPassword })).StatusCode);
    }

    [Fact]
    public async Task Fifty_parallel_wrong_passwords_lock_an_account_after_exactly_the_configured_number()
    {
        var tenant = await host.ProvisionAsync("fifty");
        var statuses = await FiftyInParallelAsync(tenant, MonolithFixture.OwnerEmail(tenant));
        var seen = string.Join(", ", statuses.GroupBy(s => s).Select(g => $"{g.Key} x{g.Count()}"));
        Assert.True(AccessHostFixture.AccountMaxFailures == statuses.Count(s => s == 401), seen);
        Assert.True(50 - AccessHostFixture.AccountMaxFailures == statuses.Count(s => s == 429), seen);

        // Locked: the right password too.
        var right = await FromAsync(tenant, "192.0.2.200").PostAsJsonAsync("/auth/token",
            new { email = MonolithFixture.OwnerEmail(tenant), password = MonolithFixture.OwnerPassword });
        Assert.Equal((HttpStatusCode)429, right.StatusCode);
    }

    [Fact]
    public async Task An_unknown_email_gets_the_same_answers_as_a_known_one_through_the_same_sequence()
    {
        var tenant = await host.ProvisionAsync("same");
        var known = await SequenceAsync(tenant, MonolithFixture.OwnerEmail(tenant));
        var unknown = await SequenceAsync(tenant, $"nobody-at-all@{tenant}.test");
        Assert.Equal(
            [401, 401, 401, 429, 429, 429],
            known.Select(a => a.Status));
        Assert.Equal(known, unknown);

        // And in parallel, exactly as many pass before the lock.
        var parallel = await FiftyInParallelAsync(tenant, $"someone-else@{tenant}.test");
        Assert.Equal(AccessHostFixture.AccountMaxFailures, parallel.Count(s => s == 401));
    }

    [Fact]
    public async Task X_Forwarded_For_counts_only_from_a_known_proxy()
    {
        var tenant = await host.ProvisionAsync("proxy");
        var requests = AccessHostFixture.LoginPermitLimit * 2;

        // Through the known proxy: every forwarded client has a budget of its own, one request each never meets a limit.
        var viaProxy = await Task.WhenAll(Enumerable.Range(0, requests).Select(i =>
            LogoutAsync(tenant, AccessHostFixture.KnownProxy, $"203.0.113.{i + 1}")));
        Assert.All(viaProxy, s => Assert.Equal(204, s));

        // One forwarded client through the known proxy is counted as that client.
        var oneClient = await Task.WhenAll(Enumerable.Range(0, requests).Select(_ =>
            LogoutAsync(tenant, AccessHostFixture.KnownProxy, "203.0.113.250")));
        Assert.Contains(429, oneClient);

        // From anyone else the header is ignored: the varying forwarded addresses all count against the sender.
        var spoofed = await Task.WhenAll(Enumerable.Range(0, requests).Select(i =>
            LogoutAsync(tenant, "10.9.9.8", $"198.51.100.{i + 1}")));
        Assert.Contains(429, spoofed);
    }

    private HttpClient FromAsync(string tenant, string peer)
    {
        var client = host.Factory.TenantClient(tenant);
        client.DefaultRequestHeaders.Add(TestPeerAddress.Header, peer);
        return client;
    }

    private async Task<int> LogoutAsync(string tenant, string peer, string forwardedFor)
    {
        using var client = FromAsync(tenant, peer);
        client.DefaultRequestHeaders.Add("X-Forwarded-For", forwardedFor);
        return (int)(await client.PostAsJsonAsync("/auth/logout", new { refreshToken = "not-a-refresh-token-of-anyone" })).StatusCode;
    }

    /// <summary>50 wrong passwords at once, each from an address of its own (so only the lockout can stop them).</summary>
    private async Task<int[]> FiftyInParallelAsync(string tenant, string email) =>
        await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            using var client = FromAsync(tenant, $"192.0.2.{i + 1}");
            return (int)(await client.PostAsJsonAsync("/auth/token", new { email, password = Wrong })).StatusCode;
        }));

    /// <summary>Six wrong passwords one after the other: status, problem type, title, detail and whether Retry-After came.</summary>
    private async Task<List<Answer>> SequenceAsync(string tenant, string email)
    {
        var answers = new List<Answer>();
        for (var i = 0; i < 6; i++)
        {
            using var client = FromAsync(tenant, $"192.0.2.{100 + i}");
            var response = await client.PostAsJsonAsync("/auth/token", new { email, password = Wrong });
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            answers.Add(new Answer(
                (int)response.StatusCode,
                body.GetProperty("type").GetString()!,
                body.GetProperty("title").GetString()!,
                // The seconds left differ by the moment; the sentence around them does not.
                System.Text.RegularExpressions.Regex.Replace(body.GetProperty("detail").GetString()!, "[0-9]+", "N"),
                response.Headers.Contains("Retry-After")));
        }

        return answers;
    }

    private sealed record Answer(int Status, string Type, string Title, string Detail, bool RetryAfter);
}
