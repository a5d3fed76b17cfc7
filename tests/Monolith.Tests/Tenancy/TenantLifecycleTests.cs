using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Monolith.Tenancy;
using Monolith.Tenancy.Backups;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Operators;
using Monolith.Tenancy.Placement;
using Monolith.Tenancy.Provisioning;
using Monolith.Tests.Auditing;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// CONTRACT §4: a delete keeps the tenant (404 to its requests, data and identifier kept) until it is undeleted or its
/// grace ends; a purge removes it at once; the daily purge removes exactly the tenants past their grace.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class TenantLifecycleTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task A_deleted_tenant_answers_404_keeps_its_data_and_identifier_and_undelete_brings_it_all_back()
    {
        var identifier = MonolithFixture.UniqueIdentifier("soft");
        var tenant = await Fixture.ProvisionAsync(identifier);
        using var owner = Fixture.Factory.TenantClient(identifier);
        await owner.AuthorizeAsOwnerAsync(Fixture, identifier);
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/me")).StatusCode);
        var platform = Fixture.Factory.PlatformClient();

        var deleted = await platform.DeleteAsync($"/platform/tenants/{identifier}");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        var body = await deleted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("deleted", body.GetProperty("status").GetString());
        var purgeAfter = body.GetProperty("purgeAfter").GetDateTimeOffset();
        Assert.InRange(purgeAfter, DateTimeOffset.UtcNow.AddDays(30).AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30).AddMinutes(5));

        // Its requests answer like an unknown tenant's, even with a token it issued.
        var refused = await owner.GetAsync("/me");
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.EndsWith("/tenant-not-found", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString(), StringComparison.Ordinal);

        // Its data, schema and role are kept; its identifier is still taken.
        Assert.Equal(1L, await ScalarAsync($"SELECT count(*) FROM \"{tenant.SchemaName}\".users"));
        Assert.Equal(1L, await ScalarAsync($"SELECT count(*) FROM pg_roles WHERE rolname = '{tenant.RoleName}'"));
        var again = await platform.PostAsJsonAsync("/platform/tenants", new
        {
            identifier, name = "again", ownerEmail = MonolithFixture.OwnerEmail(identifier), ownerPassword = MonolithFixture.OwnerPassword,
        });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        var shown = await platform.GetFromJsonAsync<JsonElement>($"/platform/tenants/{identifier}");
        Assert.Equal("deleted", shown.GetProperty("status").GetString());
        var listed = await platform.GetFromJsonAsync<JsonElement>("/platform/tenants?status=deleted&limit=200");
        Assert.Contains(listed.GetProperty("items").EnumerateArray(), t => t.GetProperty("identifier").GetString() == identifier);

        // Deleting it again, suspending or patching it: 409, it is deleted.
        Assert.Equal(HttpStatusCode.Conflict, (await platform.DeleteAsync($"/platform/tenants/{identifier}")).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await platform.PostAsync($"/platform/tenants/{identifier}/suspend", null)).StatusCode);

        var undeleted = await platform.PostAsync($"/platform/tenants/{identifier}/undelete", null);
        Assert.Equal(HttpStatusCode.OK, undeleted.StatusCode);
        var back = await undeleted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("active", back.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, back.GetProperty("purgeAfter").ValueKind);
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/me")).StatusCode);

        Assert.Equal(HttpStatusCode.Conflict, (await platform.PostAsync($"/platform/tenants/{identifier}/undelete", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await platform.PostAsync("/platform/tenants/no-such-tenant/undelete", null)).StatusCode);
    }

    [Fact]
    public async Task Purging_a_deleted_tenant_frees_its_identifier_and_bad_flags_are_400()
    {
        var identifier = MonolithFixture.UniqueIdentifier("purge");
        var tenant = await Fixture.ProvisionAsync(identifier);
        var platform = Fixture.Factory.PlatformClient();
        Assert.Equal(HttpStatusCode.OK, (await platform.DeleteAsync($"/platform/tenants/{identifier}")).StatusCode);

        foreach (var query in new[] { "purge=yes", "purge=true&archive=maybe", "archive=false", "purge=true&force=true" })
        {
            var bad = await platform.DeleteAsync($"/platform/tenants/{identifier}?{query}");
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        Assert.Equal("deleted", (await Fixture.Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None))!.Status);

        Assert.Equal(HttpStatusCode.NoContent, (await platform.DeleteAsync($"/platform/tenants/{identifier}?purge=true&archive=false")).StatusCode);
        Assert.Equal(0L, await ScalarAsync($"SELECT count(*) FROM pg_namespace WHERE nspname = '{tenant.SchemaName}'"));
        Assert.Equal(HttpStatusCode.NotFound, (await platform.GetAsync($"/platform/tenants/{identifier}")).StatusCode);
        Assert.NotEqual(tenant.Id, (await Fixture.ProvisionAsync(identifier)).Id);
    }

    [Fact]
    public async Task The_purge_job_purges_exactly_the_tenants_past_their_grace_and_is_idempotent()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var provisioner = ProvisionerWith(clock);
        var purge = new TenantPurge(Fixture.Service<TenantCatalog>(), provisioner, Fixture.Service<TenantBackups>(), Fixture.Service<PlatformDatabase>(), clock,
            Options.Create(new TenancyOptions()), jobs: null);
        var early = MonolithFixture.UniqueIdentifier("early");
        var late = MonolithFixture.UniqueIdentifier("late");
        var back = MonolithFixture.UniqueIdentifier("back");
        var kept = MonolithFixture.UniqueIdentifier("kept");
        foreach (var identifier in new[] { early, late, back, kept })
        {
            await Fixture.ProvisionAsync(identifier);
        }

        Assert.Equal(ProvisioningStatus.Done, (await provisioner.DeleteAsync(early, CancellationToken.None)).Status);
        Assert.Equal(ProvisioningStatus.Done, (await provisioner.DeleteAsync(back, CancellationToken.None)).Status);
        clock.Now = clock.Now.AddDays(20);
        Assert.Equal(ProvisioningStatus.Done, (await provisioner.DeleteAsync(late, CancellationToken.None)).Status);
        Assert.Equal(ProvisioningStatus.Done, (await provisioner.UndeleteAsync(back, CancellationToken.None)).Status);

        clock.Now = clock.Now.AddDays(9);
        Assert.DoesNotContain(early, await purge.RunAsync(CancellationToken.None)); // 29 days: still in its grace

        clock.Now = clock.Now.AddDays(2);
        var purged = await purge.RunAsync(CancellationToken.None);
        Assert.Contains(early, purged);
        Assert.DoesNotContain(late, purged);
        Assert.DoesNotContain(back, purged);
        Assert.DoesNotContain(kept, purged);

        var catalog = Fixture.Service<TenantCatalog>();
        Assert.Null(await catalog.FindAsync(early, CancellationToken.None));
        Assert.Equal(TenantStatus.Deleted, (await catalog.FindAsync(late, CancellationToken.None))!.Status);
        Assert.Equal(TenantStatus.Active, (await catalog.FindAsync(back, CancellationToken.None))!.Status);
        Assert.Equal(TenantStatus.Active, (await catalog.FindAsync(kept, CancellationToken.None))!.Status);
        Assert.DoesNotContain(early, await purge.RunAsync(CancellationToken.None)); // a second run finds nothing more of it

        clock.Now = clock.Now.AddDays(30);
        Assert.Contains(late, await purge.RunAsync(CancellationToken.None));
        Assert.Null(await catalog.FindAsync(late, CancellationToken.None));
    }

    [Fact]
    public async Task A_purge_that_stopped_midway_is_finished_by_the_next_run()
    {
        var identifier = MonolithFixture.UniqueIdentifier("midway");
        var tenant = await Fixture.ProvisionAsync(identifier);
        // What a crash in the middle of a purge leaves: the row says 'deleting', the schema and role still exist.
        await ExecuteAsync($"UPDATE platform.tenants SET status = 'deleting' WHERE identifier = '{identifier}'");

        Assert.Contains(identifier, await Fixture.Service<TenantPurge>().RunAsync(CancellationToken.None));
        Assert.Equal(0L, await ScalarAsync($"SELECT count(*) FROM pg_roles WHERE rolname = '{tenant.RoleName}'"));
        Assert.Null(await Fixture.Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None));
    }

    private TenantProvisioner ProvisionerWith(TimeProvider clock) => new(
        Fixture.Service<PlatformDatabase>(), Fixture.Service<TenantServers>(), Fixture.Service<TenantCatalog>(), Fixture.Service<TenantCatalogCache>(),
        Fixture.Service<TenantContext>(), Fixture.Service<TenantScripts>(), Fixture.Service<OperatorTrail>(), Fixture.Service<TenantBackups>(), Fixture.Service<TenantDatabase>(),
        Fixture.Service<IOptions<TenancyOptions>>(), clock, NullLogger<TenantProvisioner>.Instance);

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
