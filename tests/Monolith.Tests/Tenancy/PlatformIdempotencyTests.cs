using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Support;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// CONTRACT §2 on the platform API: a POST sent again with its <c>Idempotency-Key</c> replays the first answer (a tenant
/// is created once), without the generated owner password the first answer told once; another request under the key is
/// 422; a refused request is not recorded.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class PlatformIdempotencyTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    private static HttpRequestMessage Post(string path, object? body, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        return request;
    }

    [Fact]
    public async Task A_replayed_creation_creates_one_tenant_and_does_not_repeat_the_generated_password()
    {
        var identifier = MonolithFixture.UniqueIdentifier("idem");
        var key = Guid.NewGuid().ToString();
        var body = new { identifier, name = "Idem", ownerEmail = MonolithFixture.OwnerEmail(identifier) };
        using var platform = Fixture.Factory.PlatformClient();

        var first = await platform.SendAsync(Post("/platform/tenants", body, key));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var created = await first.Content.ReadFromJsonAsync<JsonElement>();
        var password = created.GetProperty("owner").GetProperty("password").GetString();
        Assert.False(string.IsNullOrEmpty(password));
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));

        var replay = await platform.SendAsync(Post("/platform/tenants", body, key));
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(first.Headers.Location, replay.Headers.Location);
        var replayed = await replay.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(created.GetProperty("id").GetGuid(), replayed.GetProperty("id").GetGuid());
        Assert.Equal(JsonValueKind.Null, replayed.GetProperty("owner").GetProperty("password").ValueKind);
        Assert.DoesNotContain(password!, await replay.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The password of the first answer still signs the owner in: the replay changed nothing.
        await Fixture.Factory.LoginAsync(identifier, MonolithFixture.OwnerEmail(identifier), password!);
        var trail = await platform.GetFromJsonAsync<JsonElement>($"/platform/audit-events?tenant={identifier}&action=tenant.create");
        Assert.Single(trail.GetProperty("items").EnumerateArray());

        var other = await platform.SendAsync(Post("/platform/tenants", new { identifier, name = "Other", ownerEmail = MonolithFixture.OwnerEmail(identifier) }, key));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
        Assert.Equal("/problems/idempotency-key-reused", (await other.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Concurrent_duplicates_wait_for_the_first_and_replay_it()
    {
        var identifier = MonolithFixture.UniqueIdentifier("idemc");
        var key = Guid.NewGuid().ToString();
        var body = new { identifier, name = "Idem", ownerEmail = MonolithFixture.OwnerEmail(identifier), ownerPassword = MonolithFixture.OwnerPassword };
        using var platform = Fixture.Factory.PlatformClient();

        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => platform.SendAsync(Post("/platform/tenants", body, key))));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Created, a.StatusCode));
        Assert.Single(answers, a => !a.Headers.Contains("Idempotent-Replayed"));
        var ids = await Task.WhenAll(answers.Select(async a => (await a.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid()));
        Assert.Single(ids.Distinct());
    }

    [Fact]
    public async Task A_refused_request_is_not_recorded_and_body_less_posts_replay_too()
    {
        var identifier = MonolithFixture.UniqueIdentifier("idemr");
        var key = Guid.NewGuid().ToString();
        using var platform = Fixture.Factory.PlatformClient();

        var refused = await platform.SendAsync(Post("/platform/tenants", new { identifier, name = "Idem", ownerEmail = "not an address" }, key));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var corrected = await platform.SendAsync(Post("/platform/tenants",
            new { identifier, name = "Idem", ownerEmail = MonolithFixture.OwnerEmail(identifier), ownerPassword = MonolithFixture.OwnerPassword }, key));
        Assert.Equal(HttpStatusCode.Created, corrected.StatusCode);

        var suspendKey = Guid.NewGuid().ToString();
        Assert.Equal(HttpStatusCode.OK, (await platform.SendAsync(Post($"/platform/tenants/{identifier}/suspend", null, suspendKey))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await platform.PostAsync($"/platform/tenants/{identifier}/resume", null)).StatusCode);
        var replayed = await platform.SendAsync(Post($"/platform/tenants/{identifier}/suspend", null, suspendKey));
        Assert.Equal("true", replayed.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal("active", (await platform.GetFromJsonAsync<JsonElement>($"/platform/tenants/{identifier}")).GetProperty("status").GetString());

        var bad = new HttpRequestMessage(HttpMethod.Post, $"/platform/tenants/{identifier}/suspend");
        bad.Headers.TryAddWithoutValidation("Idempotency-Key", new string('k', 256));
        Assert.Equal(HttpStatusCode.BadRequest, (await platform.SendAsync(bad)).StatusCode);
    }
}
