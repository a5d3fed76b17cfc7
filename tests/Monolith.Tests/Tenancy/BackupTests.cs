using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Monolith.Tenancy;
using Monolith.Tenancy.Backups;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Operators;
using Monolith.Tests.Auditing;
using Monolith.Tests.Support;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// CONTRACT §4 backups: a real pg_dump of the tenant's schema with its catalog entry, size and sha256 recorded; a purge
/// archives first unless told not to, and keeps the tenant when that backup fails; old backups expire.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class BackupTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task A_backup_is_a_whole_pg_dump_of_the_schema_with_its_size_sha256_and_catalog_entry()
    {
        var identifier = MonolithFixture.UniqueIdentifier("dump");
        var tenant = await Fixture.ProvisionAsync(identifier, "Dump Co");

        var backup = await Fixture.Service<TenantBackups>().BackUpNowAsync(identifier, TenantBackups.RequestedReason, CancellationToken.None);

        Assert.NotNull(backup);
        Assert.Equal("completed", backup.Status);
        Assert.Equal(tenant.SchemaVersion, backup.SchemaVersion);
        var file = Path.Combine(MonolithFactory.BackupDirectory, identifier, $"{backup.Id}.dump");
        Assert.Equal(new FileInfo(file).Length, backup.SizeBytes);
        await using (var stream = File.OpenRead(file))
        {
            Assert.Equal(Convert.ToHexStringLower(await SHA256.HashDataAsync(stream)), backup.Sha256);
        }

        Assert.False(File.Exists(file + ".partial"));
        var listing = await PostgresTools.RunAsync(new PostgresTools(null).PgRestore, ["--list", file], null, CancellationToken.None);
        Assert.Equal(0, listing.ExitCode);
        Assert.Contains($"TABLE DATA {tenant.SchemaName} customers", listing.Stdout, StringComparison.Ordinal);
        Assert.Contains($"TABLE DATA {tenant.SchemaName} users", listing.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("TABLE DATA alpha ", listing.Stdout, StringComparison.Ordinal); // that schema only

        var sidecar = JsonDocument.Parse(await File.ReadAllTextAsync(Path.ChangeExtension(file, ".json"))).RootElement;
        Assert.Equal("Dump Co", sidecar.GetProperty("tenant").GetProperty("name").GetString());
        Assert.Equal(backup.Sha256, sidecar.GetProperty("sha256").GetString());

        var platform = Fixture.Factory.PlatformClient();
        var shown = await platform.GetFromJsonAsync<JsonElement>($"/platform/backups/{backup.Id}");
        Assert.Equal(backup.Sha256, shown.GetProperty("sha256").GetString());
        Assert.Equal(identifier, shown.GetProperty("tenant").GetString());
        var trail = await platform.GetFromJsonAsync<JsonElement>($"/platform/audit-events?tenant={identifier}&action=tenant.backup");
        Assert.Equal("succeeded", trail.GetProperty("items")[0].GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task A_purge_archives_first_and_the_purged_tenants_backups_stay_listed()
    {
        var identifier = MonolithFixture.UniqueIdentifier("arch");
        await Fixture.ProvisionAsync(identifier);
        var platform = Fixture.Factory.PlatformClient();

        Assert.Equal(HttpStatusCode.NoContent, (await platform.DeleteAsync($"/platform/tenants/{identifier}?purge=true")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await platform.GetAsync($"/platform/tenants/{identifier}")).StatusCode);
        var backups = await platform.GetFromJsonAsync<JsonElement>($"/platform/tenants/{identifier}/backups");
        var final = Assert.Single(backups.GetProperty("items").EnumerateArray());
        Assert.Equal("completed", final.GetProperty("status").GetString());
        Assert.True(File.Exists(Path.Combine(MonolithFactory.BackupDirectory, identifier, $"{final.GetProperty("id").GetString()}.dump")));

        Assert.Equal(HttpStatusCode.BadRequest, (await platform.GetAsync($"/platform/tenants/{identifier}/backups?limit=0")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await platform.GetAsync($"/platform/tenants/{identifier}/backups?status=x")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await platform.GetAsync($"/platform/backups/{Guid.CreateVersion7()}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await platform.PostAsync("/platform/tenants/no-such-tenant/backups", null)).StatusCode);
    }

    [Fact]
    public async Task When_the_final_backup_fails_nothing_is_purged_and_the_failure_is_on_record()
    {
        var identifier = MonolithFixture.UniqueIdentifier("keep");
        var tenant = await Fixture.ProvisionAsync(identifier);
        await using var broken = new MonolithFactory(Fixture.Connections, new Dictionary<string, string?>
        {
            ["Backups:PgBinDirectory"] = "/nonexistent/postgresql/bin",
        });
        var platform = broken.PlatformClient();

        var refused = await platform.DeleteAsync($"/platform/tenants/{identifier}?purge=true");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.EndsWith("/backup-failed", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString(), StringComparison.Ordinal);
        var kept = await Fixture.Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None);
        Assert.Equal(TenantStatus.Active, kept!.Status);
        Assert.Equal(tenant.Id, kept.Id);
        var events = (await platform.GetFromJsonAsync<JsonElement>($"/platform/audit-events?tenant={identifier}")).GetProperty("items");
        Assert.Contains(events.EnumerateArray(), e => e.GetProperty("action").GetString() == "tenant.purge" && e.GetProperty("outcome").GetString() == "failed");
        Assert.Contains(events.EnumerateArray(), e => e.GetProperty("action").GetString() == "tenant.backup" && e.GetProperty("outcome").GetString() == "failed");
        var backups = await platform.GetFromJsonAsync<JsonElement>($"/platform/tenants/{identifier}/backups");
        Assert.Equal("failed", backups.GetProperty("items")[0].GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Fixture.Factory.TenantClient(identifier).PostAsJsonAsync("/auth/token",
            new { email = MonolithFixture.OwnerEmail(identifier), password = MonolithFixture.OwnerPassword })).StatusCode);
    }

    [Fact]
    public async Task Backups_past_their_retention_are_removed_with_their_files()
    {
        var identifier = MonolithFixture.UniqueIdentifier("old");
        await Fixture.ProvisionAsync(identifier);
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var backups = new TenantBackups(Fixture.Service<PlatformDatabase>(), Fixture.Service<TenantCatalog>(), Fixture.Service<OperatorTrail>(),
            Fixture.Service<IOptions<BackupOptions>>(), clock, NullLogger<TenantBackups>.Instance);
        var backup = (await backups.BackUpNowAsync(identifier, TenantBackups.RequestedReason, CancellationToken.None))!;
        var file = Path.Combine(MonolithFactory.BackupDirectory, identifier, $"{backup.Id}.dump");

        clock.Now = DateTimeOffset.UtcNow.AddDays(89);
        await backups.RemoveExpiredAsync(CancellationToken.None);
        Assert.True(File.Exists(file));
        Assert.NotNull(await backups.FindAsync(backup.Id, CancellationToken.None));

        clock.Now = DateTimeOffset.UtcNow.AddDays(91);
        await backups.RemoveExpiredAsync(CancellationToken.None);
        Assert.False(File.Exists(file));
        Assert.False(File.Exists(Path.ChangeExtension(file, ".json")));
        Assert.Null(await backups.FindAsync(backup.Id, CancellationToken.None));
    }
}
