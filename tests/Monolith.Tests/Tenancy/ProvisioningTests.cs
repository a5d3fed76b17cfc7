using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DbUp.Engine;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Monolith.Migrations;
using Monolith.Tenancy;
using Monolith.Tenancy.Backups;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Operators;
using Monolith.Tenancy.Placement;
using Monolith.Tenancy.Provisioning;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

[Trait("Category", Categories.Integration)]
public sealed class ProvisioningTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task Creating_a_tenant_answers_201_with_the_tenant_and_its_location()
    {
        var identifier = MonolithFixture.UniqueIdentifier("new");
        var response = await Fixture.Factory.PlatformClient().PostAsJsonAsync("/platform/tenants",
            new { identifier, name = "New Co", ownerEmail = "boss@new.test", ownerPassword = MonolithFixture.OwnerPassword });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/platform/tenants/{identifier}", response.Headers.Location?.OriginalString);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(identifier, body.GetProperty("identifier").GetString());
        Assert.Equal("active", body.GetProperty("status").GetString());
        Assert.Equal(Fixture.Service<TenantMigrator>().LatestVersion, body.GetProperty("schemaVersion").GetString());
        Assert.Equal(7, Guid.Parse(body.GetProperty("id").GetString()!).Version);
        Assert.True(await SchemaExistsAsync(TenantIdentifier.SchemaNameOf(identifier)));

        var fetched = await Fixture.Factory.PlatformClient().GetFromJsonAsync<JsonElement>($"/platform/tenants/{identifier}");
        Assert.Equal("New Co", fetched.GetProperty("name").GetString());
        Assert.Equal(365, fetched.GetProperty("auditRetentionDays").GetInt32());
        Assert.Equal(30, fetched.GetProperty("logRetentionDays").GetInt32());
    }

    [Theory]
    [InlineData("Acme")]
    [InlineData("a")]
    [InlineData("platform")]
    [InlineData("x;drop schema public")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("tënant")]
    public async Task Bad_identifiers_are_400_naming_the_rule(string identifier)
    {
        var response = await Fixture.Factory.PlatformClient().PostAsJsonAsync("/platform/tenants",
            new { identifier, name = "X", ownerEmail = "o@x.test" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var reason = problem.GetProperty("errors").GetProperty("identifier")[0].GetString();
        Assert.Equal(TenantIdentifier.Validate(identifier), reason);
    }

    [Fact]
    public async Task Missing_name_and_owner_email_are_named_in_the_400()
    {
        var response = await Fixture.Factory.PlatformClient().PostAsJsonAsync("/platform/tenants", new { identifier = "fine-name" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("name", out _));
        Assert.True(errors.TryGetProperty("ownerEmail", out _));
        Assert.Null(await Fixture.Service<TenantCatalog>().FindAsync("fine-name", CancellationToken.None));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    public async Task The_platform_api_refuses_a_missing_or_wrong_key(string? key)
    {
        var client = Fixture.Factory.CreateClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-Platform-Key", key);
        }

        var list = await client.GetAsync("/platform/tenants");
        await TenantResolutionTests.AssertProblemAsync(list, HttpStatusCode.Unauthorized, "platform-key-required");
        var create = await client.PostAsJsonAsync("/platform/tenants", new { identifier = "sneaky", name = "S", ownerEmail = "o@s.test" });
        Assert.Equal(HttpStatusCode.Unauthorized, create.StatusCode);
        Assert.Null(await Fixture.Service<TenantCatalog>().FindAsync("sneaky", CancellationToken.None));
    }

    [Fact]
    public async Task Concurrent_creates_of_one_identifier_give_exactly_one_201_and_the_rest_409()
    {
        var identifier = MonolithFixture.UniqueIdentifier("race");
        var client = Fixture.Factory.PlatformClient();
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => client.PostAsJsonAsync("/platform/tenants",
            new { identifier, name = "Race", ownerEmail = "o@race.test", ownerPassword = MonolithFixture.OwnerPassword })));

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(7, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
    }

    [Fact]
    public async Task A_provisioning_that_fails_midway_leaves_nothing_behind_and_can_be_retried()
    {
        var identifier = MonolithFixture.UniqueIdentifier("broken");
        var broken = ProvisionerWith(MigrationScripts.Tenant.With(new SqlScript("9999_broken.sql", "CREATE TABLE half_done (id int); SELECT * FROM no_such_table;")));

        await Assert.ThrowsAsync<ProvisioningFailedException>(() => broken.CreateAsync(Command(identifier), CancellationToken.None));

        Assert.Null(await Fixture.Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None));
        Assert.False(await SchemaExistsAsync(TenantIdentifier.SchemaNameOf(identifier)));
        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM pg_roles WHERE rolname LIKE 't\\_%' AND NOT EXISTS (SELECT 1 FROM platform.tenants t WHERE t.role_name = rolname)"));

        var retried = await Fixture.Service<TenantProvisioner>().CreateAsync(Command(identifier), CancellationToken.None);
        Assert.Equal(ProvisioningStatus.Done, retried.Status);
        Assert.Equal(TenantStatus.Active, retried.Tenant!.Status);
    }

    [Fact]
    public async Task A_provisioning_that_died_with_its_process_is_cleaned_up_by_the_next_attempt()
    {
        var identifier = MonolithFixture.UniqueIdentifier("crash");
        // What a crash after the catalog insert leaves: a 'provisioning' row whose lock nobody holds, and a schema and
        // role made by the owner role (as provisioning makes them).
        var id = Guid.CreateVersion7();
        var role = TenantIdentifier.RoleNameOf(id);
        await ExecuteAsync(
            $"SET ROLE {TestDatabase.OwnerRole};" +
            $"INSERT INTO platform.tenants (id, identifier, name, schema_name, role_name, status) VALUES ('{id}', '{identifier}', 'x', '{TenantIdentifier.SchemaNameOf(identifier)}', '{role}', 'provisioning');" +
            $"CREATE ROLE \"{role}\" NOLOGIN; GRANT \"{role}\" TO CURRENT_USER; CREATE SCHEMA \"{TenantIdentifier.SchemaNameOf(identifier)}\";");

        var result = await Fixture.Service<TenantProvisioner>().CreateAsync(Command(identifier), CancellationToken.None);

        Assert.Equal(ProvisioningStatus.Done, result.Status);
        Assert.Equal(0L, await ScalarAsync($"SELECT count(*) FROM pg_roles WHERE rolname = '{TenantIdentifier.RoleNameOf(id)}'"));
    }

    [Fact]
    public async Task A_delete_that_died_midway_is_finished_by_the_next_create_of_that_identifier()
    {
        var identifier = MonolithFixture.UniqueIdentifier("half");
        var old = await Fixture.ProvisionAsync(identifier);
        // What a crash in the middle of a delete leaves: the row says 'deleting', the schema and role may still exist.
        await ExecuteAsync($"UPDATE platform.tenants SET status = 'deleting' WHERE identifier = '{identifier}'");

        var result = await Fixture.Service<TenantProvisioner>().CreateAsync(Command(identifier), CancellationToken.None);

        Assert.Equal(ProvisioningStatus.Done, result.Status);
        Assert.NotEqual(old.Id, result.Tenant!.Id);
        Assert.Equal(0L, await ScalarAsync($"SELECT count(*) FROM pg_roles WHERE rolname = '{old.RoleName}'"));
    }

    [Fact]
    public async Task The_audit_trigger_records_changes_made_from_a_session_with_another_search_path()
    {
        // An operator fixing data with psql: no tenant search_path, superuser. The change is still in that tenant's trail.
        await ExecuteAsync("INSERT INTO alpha.tenant_settings (key, value) VALUES ('operator-fix', '1'::jsonb)");
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM alpha.audit_events WHERE entity_id = 'operator-fix' AND actor_kind = 'database'"));
    }

    [Fact]
    public async Task Purging_a_tenant_removes_schema_role_and_row_and_frees_the_identifier()
    {
        var identifier = MonolithFixture.UniqueIdentifier("gone");
        var tenant = await Fixture.ProvisionAsync(identifier);
        var platform = Fixture.Factory.PlatformClient();

        Assert.Equal(HttpStatusCode.NoContent, (await platform.DeleteAsync($"/platform/tenants/{identifier}?purge=true&archive=false")).StatusCode);

        Assert.False(await SchemaExistsAsync(tenant.SchemaName));
        Assert.Equal(0L, await ScalarAsync($"SELECT count(*) FROM pg_roles WHERE rolname = '{tenant.RoleName}'"));
        Assert.Equal(HttpStatusCode.NotFound, (await platform.GetAsync($"/platform/tenants/{identifier}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Fixture.Factory.TenantClient(identifier).GetAsync("/me")).StatusCode); // tenant-not-found
        Assert.Equal(HttpStatusCode.NotFound, (await platform.DeleteAsync($"/platform/tenants/{identifier}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await platform.DeleteAsync($"/platform/tenants/{identifier}?purge=true&archive=false")).StatusCode);

        var again = await Fixture.ProvisionAsync(identifier);
        Assert.NotEqual(tenant.Id, again.Id);
    }

    [Fact]
    public async Task Suspend_resume_and_patch_answer_the_tenant_and_unknown_ones_404()
    {
        var identifier = MonolithFixture.UniqueIdentifier("life");
        await Fixture.ProvisionAsync(identifier);
        var platform = Fixture.Factory.PlatformClient();

        var suspended = await (await platform.PostAsync($"/platform/tenants/{identifier}/suspend", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("suspended", suspended.GetProperty("status").GetString());
        var resumed = await (await platform.PostAsync($"/platform/tenants/{identifier}/resume", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("active", resumed.GetProperty("status").GetString());

        var patched = await platform.PatchAsJsonAsync($"/platform/tenants/{identifier}", new { name = "Renamed", auditRetentionDays = 90, logRetentionDays = 7 });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var body = await patched.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Renamed", body.GetProperty("name").GetString());
        Assert.Equal(90, body.GetProperty("auditRetentionDays").GetInt32());
        Assert.Equal(7, body.GetProperty("logRetentionDays").GetInt32());

        var invalid = await platform.PatchAsJsonAsync($"/platform/tenants/{identifier}", new { name = "", logRetentionDays = 0 });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var errors = (await invalid.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("name", out _));
        Assert.True(errors.TryGetProperty("logRetentionDays", out _));

        Assert.Equal(HttpStatusCode.NotFound, (await platform.PostAsync("/platform/tenants/nobody-here/suspend", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await platform.PatchAsJsonAsync("/platform/tenants/nobody-here", new { name = "x" })).StatusCode);
    }

    [Fact]
    public async Task Listing_tenants_pages_with_a_cursor_and_filters_by_status()
    {
        var prefix = MonolithFixture.UniqueIdentifier("pl");
        for (var i = 0; i < 5; i++)
        {
            await Fixture.ProvisionAsync($"{prefix}-{i}");
        }

        await Fixture.Factory.PlatformClient().PostAsync($"/platform/tenants/{prefix}-3/suspend", null);
        var platform = Fixture.Factory.PlatformClient();

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await platform.GetFromJsonAsync<JsonElement>($"/platform/tenants?limit=2{(cursor is null ? "" : "&cursor=" + cursor)}");
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("identifier").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(seen.Distinct().Count(), seen.Count);
        Assert.Equal(seen.Order(StringComparer.Ordinal), seen);
        Assert.Equal(5, seen.Count(s => s.StartsWith(prefix, StringComparison.Ordinal)));

        var suspended = await platform.GetFromJsonAsync<JsonElement>("/platform/tenants?status=suspended&limit=200");
        Assert.Contains(suspended.GetProperty("items").EnumerateArray(), t => t.GetProperty("identifier").GetString() == $"{prefix}-3");
        Assert.All(suspended.GetProperty("items").EnumerateArray(), t => Assert.Equal("suspended", t.GetProperty("status").GetString()));

        Assert.Equal(HttpStatusCode.BadRequest, (await platform.GetAsync("/platform/tenants?status=sleeping")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await platform.GetAsync("/platform/tenants?limit=0")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await platform.GetAsync("/platform/tenants?limit=201")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await platform.GetAsync("/platform/tenants?cursor=not-a-cursor")).StatusCode);
    }

    private TenantProvisioner ProvisionerWith(MigrationScripts scripts) => new(
        Fixture.Service<PlatformDatabase>(), Fixture.Service<TenantServers>(), Fixture.Service<TenantCatalog>(), Fixture.Service<TenantCatalogCache>(),
        Fixture.Service<TenantContext>(), new TenantScripts(scripts), Fixture.Service<OperatorTrail>(), Fixture.Service<TenantBackups>(), Fixture.Service<TenantDatabase>(),
        Fixture.Service<IOptions<TenancyOptions>>(), TimeProvider.System, NullLogger<TenantProvisioner>.Instance,
        Fixture.Factory.Services.GetService(typeof(ITenantOwnerSetup)) as ITenantOwnerSetup);

    private static CreateTenantCommand Command(string identifier) =>
        new(identifier, identifier, MonolithFixture.OwnerEmail(identifier), MonolithFixture.OwnerPassword);

    private async Task<bool> SchemaExistsAsync(string schema) =>
        await ScalarAsync($"SELECT count(*) FROM pg_namespace WHERE nspname = '{schema}'") == 1L;

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
