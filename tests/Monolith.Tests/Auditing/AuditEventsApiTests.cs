using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.SharedKernel.Context;
using Monolith.Tests.Support;

namespace Monolith.Tests.Auditing;

/// <summary>GET /audit-events: what a request changed, by whom, filtered and paged; admins only.</summary>
[Trait("Category", Categories.Integration)]
public sealed class AuditEventsApiTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task A_change_made_over_http_is_listed_with_the_user_the_request_id_and_camel_cased_changes()
    {
        var client = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        await client.AuthorizeAsOwnerAsync(Fixture, MonolithFixture.Alpha);
        using (var put = new HttpRequestMessage(HttpMethod.Put, "/settings/theme") { Content = JsonContent.Create(new { value = "dark" }) })
        {
            put.Headers.Add("X-Request-Id", "req-create-theme");
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(put)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync("/settings/theme", new { value = "light" })).StatusCode);

        var page = await client.GetFromJsonAsync<JsonElement>("/audit-events?entityType=tenant_setting&entityId=theme");
        var items = page.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, items.Count);
        var (update, create) = (items[0], items[1]); // newest first
        Assert.Equal("update", update.GetProperty("action").GetString());
        Assert.Equal("create", create.GetProperty("action").GetString());
        Assert.Equal("req-create-theme", create.GetProperty("requestId").GetString());
        Assert.Equal("theme", create.GetProperty("entityId").GetString());

        var actor = create.GetProperty("actor");
        Assert.Equal(MonolithFixture.OwnerEmail(MonolithFixture.Alpha), actor.GetProperty("email").GetString());
        Assert.Equal(ActorKinds.User, actor.GetProperty("kind").GetString());
        Assert.True(Guid.TryParse(actor.GetProperty("id").GetString(), out _));

        var changes = update.GetProperty("changes");
        Assert.Equal("dark", changes.GetProperty("value").GetProperty("old").GetString());
        Assert.Equal("light", changes.GetProperty("value").GetProperty("new").GetString());
        Assert.True(changes.TryGetProperty("updatedAt", out _)); // the column updated_at, camelCased
        Assert.True(Guid.TryParse(update.GetProperty("id").GetString(), out _));
        Assert.Equal(JsonValueKind.String, update.GetProperty("occurredAt").ValueKind);
        Assert.Equal(JsonValueKind.Null, page.GetProperty("nextCursor").ValueKind);
    }

    [Fact]
    public async Task Redacted_columns_show_as_changed_without_values()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        var id = Guid.CreateVersion7();
        await Fixture.TenantSqlAsync(alpha,
            "INSERT INTO users (id, email, name, role, password_hash) VALUES ($1, 'redact@alpha.test', 'R', 'member', 'never-shown-hash')",
            parameters: id);
        var client = await Fixture.ClientAsAsync(MonolithFixture.Alpha, Roles.Admin);

        var body = await client.GetStringAsync($"/audit-events?entityType=user&entityId={id}");
        Assert.DoesNotContain("never-shown-hash", body, StringComparison.Ordinal);
        var change = JsonDocument.Parse(body).RootElement.GetProperty("items")[0].GetProperty("changes").GetProperty("passwordHash");
        Assert.True(change.GetProperty("redacted").GetBoolean());
        Assert.False(change.TryGetProperty("new", out _));

        var actor = JsonDocument.Parse(body).RootElement.GetProperty("items")[0].GetProperty("actor");
        Assert.Equal("cli", actor.GetProperty("kind").GetString());
        Assert.Equal("cli", actor.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, actor.GetProperty("email").ValueKind);
    }

    [Fact]
    public async Task Pages_run_newest_first_without_gaps_or_repeats()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "page", 5);
        var client = await Fixture.ClientAsAsync(MonolithFixture.Alpha, Roles.Admin);

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var url = "/audit-events?entityType=tenant_setting&limit=2" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            var page = await client.GetFromJsonAsync<JsonElement>(url);
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("entityId").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null && pages < 10);

        Assert.Equal(["page-4", "page-3", "page-2", "page-1", "page-0"], seen);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task Filters_by_action_actor_and_time_range()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        var client = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        await client.AuthorizeAsOwnerAsync(Fixture, MonolithFixture.Alpha);
        await client.PutAsJsonAsync("/settings/by-user", new { value = 1 });
        await client.PutAsJsonAsync("/settings/by-user", new { value = 2 });
        await Fixture.PutSettingAsync(alpha, "by-cli", "1");

        var all = await client.GetFromJsonAsync<JsonElement>("/audit-events");
        var userId = all.GetProperty("items").EnumerateArray().First(i => i.GetProperty("entityId").GetString() == "by-user")
            .GetProperty("actor").GetProperty("id").GetString();

        var byActor = await client.GetFromJsonAsync<JsonElement>($"/audit-events?actorId={userId}");
        Assert.Equal(["by-user", "by-user"], byActor.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("entityId").GetString()));

        var updates = await client.GetFromJsonAsync<JsonElement>("/audit-events?action=update&entityType=tenant_setting");
        Assert.Equal(["by-user"], updates.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("entityId").GetString()));

        var future = DateTimeOffset.UtcNow.AddDays(1).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        var none = await client.GetFromJsonAsync<JsonElement>($"/audit-events?from={Uri.EscapeDataString(future)}");
        Assert.Empty(none.GetProperty("items").EnumerateArray());
        var beforeFuture = await client.GetFromJsonAsync<JsonElement>($"/audit-events?entityType=tenant_setting&to={Uri.EscapeDataString(future)}&from=2020-01-01");
        Assert.Equal(3, beforeFuture.GetProperty("items").GetArrayLength());
    }

    [Theory]
    [InlineData("action=remove", "action")]
    [InlineData("actorId=not-a-uuid", "actorId")]
    [InlineData("from=yesterday", "from")]
    [InlineData("to=2026-13-40", "to")]
    [InlineData("from=2026-02-01&to=2026-01-01", "to")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=201", "limit")]
    [InlineData("cursor=not-ours", "cursor")]
    [InlineData("sort=oldest", "sort")]
    public async Task A_bad_filter_is_400_naming_the_field(string query, string field)
    {
        var client = await Fixture.ClientAsAsync(MonolithFixture.Alpha, Roles.Admin);
        var response = await client.GetAsync("/audit-events?" + query);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors should name {field}");
    }

    [Theory]
    [InlineData(Roles.Member)]
    [InlineData(Roles.Viewer)]
    public async Task Below_admin_the_trail_is_403(string role)
    {
        var client = await Fixture.ClientAsAsync(MonolithFixture.Alpha, role);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/audit-events")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/audit-events/verify")).StatusCode);
    }

    [Fact]
    public async Task Without_a_token_the_trail_is_401()
    {
        var client = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/audit-events")).StatusCode);
    }

    [Fact]
    public async Task A_tenant_sees_only_its_own_trail()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.PutSettingAsync(alpha, "alpha-only", "1");
        var beta = await Fixture.ClientAsAsync(MonolithFixture.Beta, Roles.Owner);

        var page = await beta.GetFromJsonAsync<JsonElement>("/audit-events?entityId=alpha-only");
        Assert.Empty(page.GetProperty("items").EnumerateArray());
        var verify = await beta.GetFromJsonAsync<JsonElement>("/audit-events/verify");
        Assert.True(verify.GetProperty("valid").GetBoolean());
    }
}
