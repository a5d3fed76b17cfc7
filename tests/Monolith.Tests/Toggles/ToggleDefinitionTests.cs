using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Toggles;

/// <summary>Tenant-level definitions over HTTP: <c>/features</c>.</summary>
[Trait("Category", Categories.Integration)]
public sealed class ToggleDefinitionTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    private const string Alpha = MonolithFixture.Alpha;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Fixture.Factory.ClearToggleCache();
    }

    [Fact]
    public async Task Defining_a_toggle_answers_201_with_location_etag_and_who_did_it()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");

        var response = await admin.PutAsJsonAsync("/features/new-checkout", new { description = "The new checkout", enabled = true });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("/features/new-checkout", response.Headers.Location?.OriginalString);
        Assert.NotNull(response.Headers.ETag);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("new-checkout", body.GetProperty("key").GetString());
        Assert.Equal("The new checkout", body.GetProperty("description").GetString());
        Assert.True(body.GetProperty("enabled").GetBoolean());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("rolloutPercent").ValueKind);
        Assert.StartsWith("admin-", body.GetProperty("createdBy").GetProperty("email").GetString());
        Assert.Equal(body.GetProperty("createdBy").GetProperty("id").GetGuid(), body.GetProperty("updatedBy").GetProperty("id").GetGuid());

        var read = await admin.GetAsync("/features/new-checkout");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(response.Headers.ETag, read.Headers.ETag);
    }

    [Fact]
    public async Task Redefining_a_toggle_answers_200_records_the_changer_and_changes_the_etag()
    {
        var owner = Fixture.Factory.TenantClient(Alpha);
        await owner.AuthorizeAsOwnerAsync(Fixture, Alpha);
        await owner.DefineAsync("reports", false);
        var before = (await owner.GetAsync("/features/reports")).Headers.ETag;
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");

        var response = await admin.PutAsJsonAsync("/features/reports", new { description = "Reports", enabled = true });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEqual(before, response.Headers.ETag);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(body.GetProperty("enabled").GetBoolean());
        Assert.Equal(MonolithFixture.OwnerEmail(Alpha), body.GetProperty("createdBy").GetProperty("email").GetString());
        Assert.StartsWith("admin-", body.GetProperty("updatedBy").GetProperty("email").GetString());
    }

    [Fact]
    public async Task If_match_with_a_stale_etag_is_412_and_changes_nothing()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.DefineAsync("reports", false);
        var etag = (await admin.GetAsync("/features/reports")).Headers.ETag!;
        await admin.DefineAsync("reports", true, "changed meanwhile");

        using var put = new HttpRequestMessage(HttpMethod.Put, "/features/reports") { Content = JsonContent.Create(new { enabled = false }) };
        put.Headers.IfMatch.Add(etag);
        using var delete = new HttpRequestMessage(HttpMethod.Delete, "/features/reports");
        delete.Headers.IfMatch.Add(etag);

        Assert.Equal(HttpStatusCode.PreconditionFailed, (await admin.SendAsync(put)).StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await admin.SendAsync(delete)).StatusCode);
        var current = await admin.GetFromJsonAsync<JsonElement>("/features/reports");
        Assert.True(current.GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task If_match_with_the_current_etag_lets_the_change_through()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.DefineAsync("reports", false);
        var etag = (await admin.GetAsync("/features/reports")).Headers.ETag!;

        using var put = new HttpRequestMessage(HttpMethod.Put, "/features/reports") { Content = JsonContent.Create(new { enabled = true }) };
        put.Headers.IfMatch.Add(etag);

        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(put)).StatusCode);
    }

    [Fact]
    public async Task Deleting_a_toggle_answers_204_then_404_and_it_evaluates_as_undefined_again()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.DefineAsync("reports", true);
        Assert.True((await Fixture.Factory.EvaluateAsync(Alpha, "reports")).Enabled);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/features/reports")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/features/reports")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("/features/reports")).StatusCode);
        var evaluation = await Fixture.Factory.EvaluateAsync(Alpha, "reports");
        Assert.Equal((false, "Undefined"), (evaluation.Enabled, evaluation.Reason.ToString()));
    }

    [Fact]
    public async Task The_list_is_paged_in_key_order()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        foreach (var key in new[] { "c-three", "a-one", "b-two" })
        {
            await admin.DefineAsync(key, true);
        }

        var first = await admin.GetFromJsonAsync<JsonElement>("/features?limit=2");
        var keys = first.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("key").GetString()).ToList();
        Assert.Equal(["a-one", "b-two"], keys);
        var cursor = first.GetProperty("nextCursor").GetString();
        var second = await admin.GetFromJsonAsync<JsonElement>($"/features?limit=2&cursor={Uri.EscapeDataString(cursor!)}");
        Assert.Equal(["c-three"], second.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("key").GetString()));
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);
    }

    [Theory]
    [InlineData("/features?limit=0")]
    [InlineData("/features?limit=201")]
    [InlineData("/features?cursor=not-a-cursor")]
    public async Task Bad_paging_parameters_are_400(string url)
    {
        var viewer = await Fixture.ClientAsAsync(Alpha, "viewer");

        var response = await viewer.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("Upper-Case")]
    [InlineData("-leading-dash")]
    [InlineData("has%20space")]
    [InlineData("a12345678901234567890123456789012345678901234567890123456789012345")]
    public async Task Invalid_keys_are_400_on_every_definition_endpoint(string key)
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");

        var put = await admin.PutAsJsonAsync($"/features/{key}", new { enabled = true });
        var get = await admin.GetAsync($"/features/{key}");
        var delete = await admin.DeleteAsync($"/features/{key}");

        foreach (var response in new[] { put, get, delete })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(problem.GetProperty("errors").TryGetProperty("key", out _));
        }

        Assert.Equal(0, await CountAsync("SELECT count(*) FROM alpha.feature_toggles"));
    }

    [Fact]
    public async Task A_body_without_enabled_or_with_bad_fields_is_400_naming_each_field()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");

        var response = await admin.PutAsJsonAsync("/features/reports", new { description = new string('x', 1001), rolloutPercent = 101 });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("enabled", out _));
        Assert.True(errors.TryGetProperty("description", out _));
        Assert.True(errors.TryGetProperty("rolloutPercent", out _));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM alpha.feature_toggles"));
    }

    [Fact]
    public async Task Unknown_members_in_the_body_are_400()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");

        var response = await admin.PutAsync("/features/reports", new StringContent("""{"enabled":true,"createdBy":"someone"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Every_change_is_in_the_audit_trail_with_its_actor_and_old_and_new_values()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.DefineAsync("reports", false);
        await admin.DefineAsync("reports", true);
        await admin.DeleteAsync("/features/reports");

        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT action, actor_email, monolith.audit_changes(changes) FROM alpha.audit_events WHERE entity_type = 'feature_toggle' AND entity_id = 'reports' ORDER BY seq", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var events = new List<(string Action, string? Actor, JsonElement Changes)>();
        while (await reader.ReadAsync())
        {
            events.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), JsonDocument.Parse(reader.GetString(2)).RootElement));
        }

        Assert.Equal(["create", "update", "delete"], events.Select(e => e.Action));
        Assert.All(events, e => Assert.StartsWith("admin-", e.Actor));
        var enabled = events[1].Changes.GetProperty("enabled");
        Assert.False(enabled.GetProperty("old").GetBoolean());
        Assert.True(enabled.GetProperty("new").GetBoolean());
    }

    [Theory]
    [InlineData("viewer")]
    [InlineData("member")]
    public async Task Viewers_and_members_read_definitions_but_cannot_change_them(string role)
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.DefineAsync("reports", false);
        var client = await Fixture.ClientAsAsync(Alpha, role);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/features")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/features/reports")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PutAsJsonAsync("/features/reports", new { enabled = true })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PutAsJsonAsync("/features/other", new { enabled = true })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.DeleteAsync("/features/reports")).StatusCode);
        var current = await admin.GetFromJsonAsync<JsonElement>("/features/reports");
        Assert.False(current.GetProperty("enabled").GetBoolean());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/features/other")).StatusCode);
    }

    [Fact]
    public async Task Without_a_token_the_definitions_are_401()
    {
        var anonymous = Fixture.Factory.TenantClient(Alpha);

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/features")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PutAsJsonAsync("/features/reports", new { enabled = true })).StatusCode);
    }

    [Fact]
    public async Task Another_tenants_toggle_is_404_exactly_like_a_missing_one()
    {
        var alphaAdmin = await Fixture.ClientAsAsync(Alpha, "admin");
        await alphaAdmin.DefineAsync("alpha-only", true);
        var betaAdmin = await Fixture.ClientAsAsync(MonolithFixture.Beta, "admin");

        var other = await betaAdmin.GetAsync("/features/alpha-only");
        var missing = await betaAdmin.GetAsync("/features/never-defined");

        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal(await missing.Content.ReadFromJsonAsync<JsonElement>() is var m ? m.GetProperty("detail").GetString() : null,
            (await other.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        Assert.Empty((await betaAdmin.GetFromJsonAsync<JsonElement>("/features")).GetProperty("items").EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, (await betaAdmin.DeleteAsync("/features/alpha-only")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alphaAdmin.GetAsync("/features/alpha-only")).StatusCode);
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
