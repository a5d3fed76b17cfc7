using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tenancy.Catalog;
using Monolith.Tests.Cli;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// CONTRACT §9: every platform operation, REST or CLI, appears once in the operator trail with its actor, request id and
/// outcome; a refused one as failed; nobody can change the trail and a tenant's role cannot even read it.
/// </summary>
[Trait("Category", Categories.Security)]
public sealed class OperatorTrailTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task Each_platform_operation_is_recorded_once_with_actor_request_id_and_outcome()
    {
        var identifier = MonolithFixture.UniqueIdentifier("trail");
        var platform = Fixture.Factory.PlatformClient();

        async Task<string> Send(HttpMethod method, string path, object? body = null)
        {
            var requestId = "op-" + Guid.NewGuid().ToString("N");
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            request.Headers.Add("X-Request-Id", requestId);
            (await platform.SendAsync(request)).Dispose();
            return requestId;
        }

        var create = await Send(HttpMethod.Post, "/platform/tenants", new
        {
            identifier, name = "Trail", ownerEmail = MonolithFixture.OwnerEmail(identifier), ownerPassword = MonolithFixture.OwnerPassword,
        });
        var update = await Send(HttpMethod.Patch, $"/platform/tenants/{identifier}", new { maxConcurrency = 3 });
        var suspend = await Send(HttpMethod.Post, $"/platform/tenants/{identifier}/suspend");
        var resume = await Send(HttpMethod.Post, $"/platform/tenants/{identifier}/resume");
        var delete = await Send(HttpMethod.Delete, $"/platform/tenants/{identifier}");
        var undelete = await Send(HttpMethod.Post, $"/platform/tenants/{identifier}/undelete");
        var purge = await Send(HttpMethod.Delete, $"/platform/tenants/{identifier}?purge=true&archive=false");

        var events = await EventsAsync(platform, $"tenant={identifier}");
        string[] expected = ["tenant.create", "tenant.update", "tenant.suspend", "tenant.resume", "tenant.delete", "tenant.undelete", "tenant.purge"];
        Assert.Equal(expected, events.Select(e => e.GetProperty("action").GetString()).Reverse());
        Assert.Equal([create, update, suspend, resume, delete, undelete, purge], events.Select(e => e.GetProperty("requestId").GetString()).Reverse());
        Assert.All(events, e =>
        {
            Assert.Equal("succeeded", e.GetProperty("outcome").GetString());
            Assert.Equal(identifier, e.GetProperty("tenant").GetString());
            Assert.Equal("platform-key", e.GetProperty("actor").GetProperty("kind").GetString());
        });
        Assert.Contains("maxConcurrency=3", events.Single(e => e.GetProperty("action").GetString() == "tenant.update").GetProperty("detail").GetString(),
            StringComparison.Ordinal);
        // The owner's password went into the create; it never reaches the trail.
        Assert.DoesNotContain(events, e => e.GetRawText().Contains(MonolithFixture.OwnerPassword, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refused_operation_is_recorded_as_failed_with_its_reason()
    {
        var platform = Fixture.Factory.PlatformClient();
        var missing = MonolithFixture.UniqueIdentifier("none");
        Assert.Equal(HttpStatusCode.NotFound, (await platform.PostAsync($"/platform/tenants/{missing}/suspend", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await platform.PostAsync($"/platform/tenants/{MonolithFixture.Alpha}/undelete", null)).StatusCode);
        var invalid = await platform.PostAsJsonAsync("/platform/tenants", new { identifier = MonolithFixture.UniqueIdentifier("bad"), name = "" , ownerEmail = "x" });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);

        var suspend = Assert.Single(await EventsAsync(platform, $"tenant={missing}"));
        Assert.Equal("tenant.suspend", suspend.GetProperty("action").GetString());
        Assert.Equal("failed", suspend.GetProperty("outcome").GetString());
        Assert.Contains("No tenant", suspend.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var undelete = (await EventsAsync(platform, $"tenant={MonolithFixture.Alpha}&action=tenant.undelete"))[0];
        Assert.Equal("failed", undelete.GetProperty("outcome").GetString());
        Assert.Contains("only a deleted tenant", undelete.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var create = (await EventsAsync(platform, "action=tenant.create&limit=5"))[0];
        Assert.Equal("failed", create.GetProperty("outcome").GetString());
        Assert.Contains("invalid: ", create.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("name", create.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cli_is_recorded_as_the_operating_system_user_and_host()
    {
        var identifier = MonolithFixture.UniqueIdentifier("clitrail");
        await Fixture.ProvisionAsync(identifier);
        var run = await CliRunner.RunAsync([.. Fixture.Connections.Settings], "tenants", "suspend", identifier);
        Assert.Equal(0, run.ExitCode);

        var suspend = (await EventsAsync(Fixture.Factory.PlatformClient(), $"tenant={identifier}&action=tenant.suspend"))[0];
        Assert.Equal("cli", suspend.GetProperty("actor").GetProperty("kind").GetString());
        Assert.Equal($"{Environment.UserName}@{Environment.MachineName}", suspend.GetProperty("actor").GetProperty("name").GetString());
        Assert.StartsWith("cli-", suspend.GetProperty("requestId").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_list_pages_newest_first_and_rejects_bad_filters()
    {
        var platform = Fixture.Factory.PlatformClient();
        var identifier = MonolithFixture.UniqueIdentifier("pages");
        await Fixture.ProvisionAsync(identifier);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await platform.PostAsync($"/platform/tenants/{identifier}/suspend", null)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await platform.PostAsync($"/platform/tenants/{identifier}/resume", null)).StatusCode);
        }

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await platform.GetFromJsonAsync<JsonElement>(
                $"/platform/audit-events?tenant={identifier}&limit=2" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"));
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("action").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(["tenant.resume", "tenant.suspend", "tenant.resume", "tenant.suspend", "tenant.resume", "tenant.suspend", "tenant.create"], seen);

        foreach (var query in new[] { "action=tenant.explode", "tenant=Not_An_Identifier", "from=yesterday", "from=2026-02-01&to=2026-01-01", "limit=0", "cursor=nope", "actor=me" })
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await platform.GetAsync($"/platform/audit-events?{query}")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await Fixture.Factory.CreateClient().GetAsync("/platform/audit-events")).StatusCode);
    }

    [Fact]
    public async Task The_trail_is_append_only_and_unreadable_by_tenant_roles()
    {
        var alpha = await Fixture.Service<TenantCatalog>().FindAsync(MonolithFixture.Alpha, CancellationToken.None);
        await using var connection = new NpgsqlConnection(Fixture.Connections.Owner);
        await connection.OpenAsync();
        foreach (var statement in new[] { "UPDATE platform.operator_events SET outcome = 'succeeded'", "DELETE FROM platform.operator_events", "TRUNCATE platform.operator_events" })
        {
            await using var command = new NpgsqlCommand(statement, connection);
            var refused = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        }

        await using var app = new NpgsqlConnection(Fixture.Connections.App);
        await app.OpenAsync();
        foreach (var role in new[] { $"\"{alpha!.RoleName}\"", "NONE" })
        {
            await using var command = new NpgsqlCommand($"SET ROLE {role}; SELECT count(*) FROM platform.operator_events", app);
            var refused = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync());
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        }
    }

    private static async Task<List<JsonElement>> EventsAsync(HttpClient platform, string query)
    {
        var page = await platform.GetFromJsonAsync<JsonElement>($"/platform/audit-events?{query}");
        return page.GetProperty("items").EnumerateArray().ToList();
    }
}
