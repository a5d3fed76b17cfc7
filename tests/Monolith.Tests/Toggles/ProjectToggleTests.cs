using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Toggles;

/// <summary>A project's toggles over HTTP: evaluation with reasons, overrides, and their lifetime with projects and customers.</summary>
[Trait("Category", Categories.Integration)]
public sealed class ProjectToggleTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    private const string Alpha = MonolithFixture.Alpha;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Fixture.Factory.ClearToggleCache();
    }

    [Fact]
    public async Task An_override_takes_precedence_for_its_project_only_and_removing_it_restores_the_default()
    {
        var owner = await OwnerAsync();
        var (_, projects) = await CreateCustomerAsync(owner, 2);
        await owner.DefineAsync("reports", true);
        var member = await Fixture.ClientAsAsync(Alpha, "member");

        await AssertEvaluationAsync(member, projects[0], "reports", true, "default");

        var put = await member.PutAsJsonAsync($"/projects/{projects[0]}/features/reports", new { enabled = false });
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        var body = await put.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(projects[0], body.GetProperty("projectId").GetGuid());
        Assert.False(body.GetProperty("enabled").GetBoolean());
        Assert.StartsWith("member-", body.GetProperty("createdBy").GetProperty("email").GetString());

        await AssertEvaluationAsync(member, projects[0], "reports", false, "override");
        await AssertEvaluationAsync(member, projects[1], "reports", true, "default");

        Assert.Equal(HttpStatusCode.OK, (await member.PutAsJsonAsync($"/projects/{projects[0]}/features/reports", new { enabled = true })).StatusCode);
        await AssertEvaluationAsync(member, projects[0], "reports", true, "override");

        Assert.Equal(HttpStatusCode.NoContent, (await member.DeleteAsync($"/projects/{projects[0]}/features/reports")).StatusCode);
        await AssertEvaluationAsync(member, projects[0], "reports", true, "default");
        Assert.Equal(HttpStatusCode.NotFound, (await member.DeleteAsync($"/projects/{projects[0]}/features/reports")).StatusCode);
    }

    [Fact]
    public async Task An_undefined_key_evaluates_to_the_undefined_default_over_http_and_never_fails()
    {
        var owner = await OwnerAsync();
        var (_, projects) = await CreateCustomerAsync(owner, 1);

        var response = await owner.GetAsync($"/projects/{projects[0]}/features/never.defined");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("never.defined", body.GetProperty("key").GetString());
        Assert.False(body.GetProperty("enabled").GetBoolean());
        Assert.Equal("undefined", body.GetProperty("reason").GetString());
        Assert.False(body.TryGetProperty("variant", out _));

        await owner.PutAsJsonAsync("/settings/toggles.undefined-default", new { value = true });
        Assert.True(await ToggleTestSupport.EventuallyAsync(async () =>
            (await owner.GetFromJsonAsync<JsonElement>($"/projects/{projects[0]}/features/never.defined")).GetProperty("enabled").GetBoolean()));
    }

    [Fact]
    public async Task A_projects_list_evaluates_every_defined_toggle_in_key_order_page_by_page()
    {
        var owner = await OwnerAsync();
        var (_, projects) = await CreateCustomerAsync(owner, 1);
        await owner.DefineAsync("a-one", false);
        await owner.DefineAsync("b-two", true);
        await owner.DefineAsync("c-three", false, rolloutPercent: 100);
        await owner.PutAsJsonAsync($"/projects/{projects[0]}/features/a-one", new { enabled = true });

        var first = await owner.GetFromJsonAsync<JsonElement>($"/projects/{projects[0]}/features?limit=2");
        var second = await owner.GetFromJsonAsync<JsonElement>(
            $"/projects/{projects[0]}/features?limit=2&cursor={Uri.EscapeDataString(first.GetProperty("nextCursor").GetString()!)}");

        var items = first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray()).ToList();
        Assert.Equal(["a-one", "b-two", "c-three"], items.Select(i => i.GetProperty("key").GetString()));
        Assert.Equal(["override", "default", "default"], items.Select(i => i.GetProperty("reason").GetString()));
        Assert.All(items, i => Assert.True(i.GetProperty("enabled").GetBoolean()));
        Assert.Equal("rollout", items[2].GetProperty("variant").GetString());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);
    }

    [Fact]
    public async Task Overriding_a_key_that_is_not_defined_is_404_and_writes_nothing()
    {
        var owner = await OwnerAsync();
        var (_, projects) = await CreateCustomerAsync(owner, 1);

        var response = await owner.PutAsJsonAsync($"/projects/{projects[0]}/features/not-defined", new { enabled = true });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM alpha.feature_overrides"));
    }

    [Theory]
    [InlineData("Bad-Key")]
    [InlineData(".dot-first")]
    [InlineData("a12345678901234567890123456789012345678901234567890123456789012345")]
    public async Task Invalid_keys_are_400_on_every_project_endpoint(string key)
    {
        var owner = await OwnerAsync();
        var (_, projects) = await CreateCustomerAsync(owner, 1);

        foreach (var response in new[]
                 {
                     await owner.GetAsync($"/projects/{projects[0]}/features/{key}"),
                     await owner.PutAsJsonAsync($"/projects/{projects[0]}/features/{key}", new { enabled = true }),
                     await owner.DeleteAsync($"/projects/{projects[0]}/features/{key}"),
                 })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("key", out _));
        }
    }

    [Fact]
    public async Task An_override_without_enabled_is_400()
    {
        var owner = await OwnerAsync();
        var (_, projects) = await CreateCustomerAsync(owner, 1);
        await owner.DefineAsync("reports", true);

        var response = await owner.PutAsJsonAsync($"/projects/{projects[0]}/features/reports", new { });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("enabled", out _));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM alpha.feature_overrides"));
    }

    [Fact]
    public async Task An_unknown_project_is_404_on_every_project_endpoint()
    {
        var owner = await OwnerAsync();
        await owner.DefineAsync("reports", true);
        var unknown = Guid.CreateVersion7();

        Assert.Equal(HttpStatusCode.NotFound, (await owner.GetAsync($"/projects/{unknown}/features")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.GetAsync($"/projects/{unknown}/features/reports")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.PutAsJsonAsync($"/projects/{unknown}/features/reports", new { enabled = true })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.DeleteAsync($"/projects/{unknown}/features/reports")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.GetAsync("/projects/not-a-guid/features")).StatusCode);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM alpha.feature_overrides"));
    }

    [Fact]
    public async Task A_member_may_override_a_project_toggle_but_not_define_a_tenant_toggle()
    {
        var owner = await OwnerAsync();
        var (_, projects) = await CreateCustomerAsync(owner, 1);
        await owner.DefineAsync("reports", false);
        var member = await Fixture.ClientAsAsync(Alpha, "member");

        Assert.Equal(HttpStatusCode.Created, (await member.PutAsJsonAsync($"/projects/{projects[0]}/features/reports", new { enabled = true })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.PutAsJsonAsync("/features/reports", new { enabled = true })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.PutAsJsonAsync("/features/brand-new", new { enabled = true })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.DeleteAsync("/features/reports")).StatusCode);
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM alpha.feature_toggles"));
    }

    [Fact]
    public async Task A_viewer_reads_project_toggles_but_cannot_override_them()
    {
        var owner = await OwnerAsync();
        var (_, projects) = await CreateCustomerAsync(owner, 1);
        await owner.DefineAsync("reports", false);
        await owner.PutAsJsonAsync($"/projects/{projects[0]}/features/reports", new { enabled = true });
        var viewer = await Fixture.ClientAsAsync(Alpha, "viewer");

        await AssertEvaluationAsync(viewer, projects[0], "reports", true, "override");
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync($"/projects/{projects[0]}/features")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PutAsJsonAsync($"/projects/{projects[0]}/features/reports", new { enabled = false })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.DeleteAsync($"/projects/{projects[0]}/features/reports")).StatusCode);
        await AssertEvaluationAsync(viewer, projects[0], "reports", true, "override");
    }

    [Fact]
    public async Task Overrides_go_with_their_project()
    {
        var owner = await OwnerAsync();
        var (_, projects) = await CreateCustomerAsync(owner, 2);
        await owner.DefineAsync("reports", false);
        await owner.PutAsJsonAsync($"/projects/{projects[0]}/features/reports", new { enabled = true });
        await owner.PutAsJsonAsync($"/projects/{projects[1]}/features/reports", new { enabled = true });

        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"/projects/{projects[1]}")).StatusCode);

        Assert.Equal(0, await CountAsync($"SELECT count(*) FROM alpha.feature_overrides WHERE project_id = '{projects[1]}'"));
        Assert.Equal(1, await CountAsync($"SELECT count(*) FROM alpha.feature_overrides WHERE project_id = '{projects[0]}'"));
        Assert.Equal(1, await CountAsync(
            $"SELECT count(*) FROM alpha.audit_events WHERE entity_type = 'feature_override' AND entity_id = '{projects[1]}/reports' AND action = 'delete'"));
        Assert.True((await Fixture.Factory.EvaluateAsync(Alpha, "reports", projects[0])).Enabled);
        Assert.False((await Fixture.Factory.EvaluateAsync(Alpha, "reports", projects[1])).Enabled);
    }

    [Fact]
    public async Task Overrides_go_with_their_customer()
    {
        var owner = await OwnerAsync();
        var (customer, projects) = await CreateCustomerAsync(owner, 2);
        var (_, others) = await CreateCustomerAsync(owner, 1);
        await owner.DefineAsync("reports", false);
        foreach (var project in projects.Concat(others))
        {
            await owner.PutAsJsonAsync($"/projects/{project}/features/reports", new { enabled = true });
        }

        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"/customers/{customer}")).StatusCode);

        Assert.Equal(1, await CountAsync("SELECT count(*) FROM alpha.feature_overrides"));
        Assert.Equal(1, await CountAsync($"SELECT count(*) FROM alpha.feature_overrides WHERE project_id = '{others[0]}'"));
    }

    [Fact]
    public async Task Deleting_a_definition_removes_its_overrides_each_in_the_audit_trail()
    {
        var owner = await OwnerAsync();
        var (_, projects) = await CreateCustomerAsync(owner, 2);
        await owner.DefineAsync("reports", false);
        await owner.DefineAsync("other", false);
        foreach (var project in projects)
        {
            await owner.PutAsJsonAsync($"/projects/{project}/features/reports", new { enabled = true });
            await owner.PutAsJsonAsync($"/projects/{project}/features/other", new { enabled = true });
        }

        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync("/features/reports")).StatusCode);

        Assert.Equal(0, await CountAsync("SELECT count(*) FROM alpha.feature_overrides WHERE key = 'reports'"));
        Assert.Equal(2, await CountAsync("SELECT count(*) FROM alpha.feature_overrides WHERE key = 'other'"));
        Assert.Equal(2, await CountAsync("SELECT count(*) FROM alpha.audit_events WHERE entity_type = 'feature_override' AND action = 'delete'"));
        await AssertEvaluationAsync(owner, projects[0], "reports", false, "undefined");
    }

    [Fact]
    public async Task Override_changes_are_audited_with_old_and_new_values()
    {
        var owner = await OwnerAsync();
        var (_, projects) = await CreateCustomerAsync(owner, 1);
        await owner.DefineAsync("reports", false);
        var member = await Fixture.ClientAsAsync(Alpha, "member");
        await member.PutAsJsonAsync($"/projects/{projects[0]}/features/reports", new { enabled = true });
        await member.PutAsJsonAsync($"/projects/{projects[0]}/features/reports", new { enabled = true }); // no change: no record
        await member.PutAsJsonAsync($"/projects/{projects[0]}/features/reports", new { enabled = false });

        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT action, actor_email, monolith.audit_changes(changes)->'enabled'->>'old', monolith.audit_changes(changes)->'enabled'->>'new' FROM alpha.audit_events WHERE entity_type = 'feature_override' AND entity_id = $1 ORDER BY seq",
            connection);
        command.Parameters.AddWithValue($"{projects[0]}/reports");
        await using var reader = await command.ExecuteReaderAsync();
        var events = new List<string>();
        while (await reader.ReadAsync())
        {
            Assert.StartsWith("member-", reader.GetString(1));
            events.Add($"{reader.GetString(0)}:{(reader.IsDBNull(2) ? "-" : reader.GetString(2))}->{reader.GetString(3)}");
        }

        Assert.Equal(["create:-->true", "update:true->false"], events);
    }

    private async Task<HttpClient> OwnerAsync()
    {
        var owner = Fixture.Factory.TenantClient(Alpha);
        await owner.AuthorizeAsOwnerAsync(Fixture, Alpha);
        return owner;
    }

    private static async Task AssertEvaluationAsync(HttpClient client, Guid project, string key, bool enabled, string reason)
    {
        var response = await client.GetAsync($"/projects/{project}/features/{key}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((key, enabled, reason), (body.GetProperty("key").GetString(), body.GetProperty("enabled").GetBoolean(), body.GetProperty("reason").GetString()));
    }

    /// <summary>A customer with <paramref name="projects"/> projects, through the Customers API.</summary>
    internal static async Task<(Guid Customer, Guid[] Projects)> CreateCustomerAsync(HttpClient client, int projects)
    {
        var response = await client.PostAsJsonAsync("/customers", new
        {
            name = "Toggle Test Customer",
            email = $"customer-{Guid.NewGuid():N}@example.test",
            projects = Enumerable.Range(1, projects).Select(i => new { name = $"Project {i}" }).ToArray(),
        });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("id").GetGuid(), body.GetProperty("projects").EnumerateArray().Select(p => p.GetProperty("id").GetGuid()).ToArray());
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
