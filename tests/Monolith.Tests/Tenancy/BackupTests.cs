using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Monolith.Migrations;
using Monolith.Tenancy;
using Monolith.Tenancy.Backups;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Operators;
using Monolith.Tenancy.Placement;
using Monolith.Tenancy.Provisioning;
using Monolith.Tests.Auditing;
using Monolith.Tests.Customers;
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
        var backups = new TenantBackups(Fixture.Service<PlatformDatabase>(), Fixture.Service<TenantServers>(), Fixture.Service<TenantCatalog>(), Fixture.Service<OperatorTrail>(),
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

    [Fact]
    public async Task A_restore_is_a_new_tenant_with_the_same_data_users_toggles_and_settings_and_the_original_is_untouched()
    {
        var original = MonolithFixture.UniqueIdentifier("orig");
        await Fixture.ProvisionAsync(original);
        using var owner = Fixture.Factory.TenantClient(original);
        await owner.AuthorizeAsOwnerAsync(Fixture, original);
        var customer = await (await owner.PostAsJsonAsync("/customers", CustomerBuilder.Customer())).Content.ReadFromJsonAsync<JsonElement>();
        var customerId = customer.GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.Created, (await owner.PostAsJsonAsync($"/customers/{customerId}/warehouses", CustomerBuilder.Warehouse())).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await owner.PutAsJsonAsync("/features/beta-board", new { enabled = true, rolloutPercent = 40 })).StatusCode);
        Assert.True((await owner.PutAsJsonAsync("/settings/theme", new { value = "dark" })).IsSuccessStatusCode);
        var member = await Fixture.CreateUserAsync(original, "member");
        var originalTokens = await Fixture.Factory.LoginAsync(original, member.Email, member.Password);
        var before = await SnapshotAsync(owner, customerId!);

        var backup = (await Fixture.Service<TenantBackups>().BackUpNowAsync(original, TenantBackups.RequestedReason, CancellationToken.None))!;
        var copy = MonolithFixture.UniqueIdentifier("copy");
        var restored = await Fixture.Service<TenantProvisioner>().RestoreAsync(
            new RestoreTenantCommand(backup.Id, copy, null), Fixture.Factory.Services.GetServices<ITenantRestoreStep>(), CancellationToken.None);

        Assert.Equal(ProvisioningStatus.Done, restored.Status);
        Assert.Equal(TenantStatus.Active, restored.Tenant!.Status);
        Assert.NotEqual((await Fixture.Service<TenantCatalog>().FindAsync(original, CancellationToken.None))!.Id, restored.Tenant.Id);
        using var copyOwner = Fixture.Factory.TenantClient(copy);
        var copyOwnerTokens = await Fixture.Factory.LoginAsync(copy, MonolithFixture.OwnerEmail(original), MonolithFixture.OwnerPassword);
        copyOwner.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", copyOwnerTokens.AccessToken);
        var after = await SnapshotAsync(copyOwner, customerId!);
        Assert.Equal(before, after); // customers, projects, warehouses, users (ids kept), toggles

        var memberOfCopy = await Fixture.Factory.LoginAsync(copy, member.Email, member.Password); // passwords work
        var settings = await copyOwner.GetFromJsonAsync<JsonElement>("/settings");
        Assert.Contains(settings.EnumerateArray(), s => s.GetProperty("key").GetString() == "theme" && s.GetProperty("value").GetString() == "dark");
        Assert.Contains(settings.EnumerateArray(), s => s.GetProperty("key").GetString() == TenantProvisioner.RestoredFromSetting);
        var verify = await copyOwner.GetFromJsonAsync<JsonElement>("/audit-events/verify");
        Assert.True(verify.GetProperty("valid").GetBoolean(), verify.GetRawText());

        // No session of the original lives on in the copy, and the copy's tokens open nothing of the original.
        var replayed = await Fixture.Factory.TenantClient(copy).PostAsJsonAsync("/auth/refresh", new { refreshToken = originalTokens.RefreshToken });
        Assert.Equal(HttpStatusCode.Unauthorized, replayed.StatusCode);
        using var crossing = Fixture.Factory.TenantClient(original);
        crossing.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", memberOfCopy.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, (await crossing.GetAsync("/customers")).StatusCode);

        // The original is untouched, and its refresh token still works there.
        Assert.Equal(before, await SnapshotAsync(owner, customerId!));
        Assert.DoesNotContain((await owner.GetFromJsonAsync<JsonElement>("/settings")).EnumerateArray(),
            s => s.GetProperty("key").GetString() == TenantProvisioner.RestoredFromSetting);
        Assert.Equal(HttpStatusCode.OK,
            (await Fixture.Factory.TenantClient(original).PostAsJsonAsync("/auth/refresh", new { refreshToken = originalTokens.RefreshToken })).StatusCode);
        var trail = await Fixture.Factory.PlatformClient().GetFromJsonAsync<JsonElement>($"/platform/audit-events?tenant={copy}&action=tenant.restore");
        Assert.Equal("succeeded", trail.GetProperty("items")[0].GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task A_corrupt_or_truncated_backup_fails_the_restore_and_leaves_nothing_behind()
    {
        var original = MonolithFixture.UniqueIdentifier("torn");
        await Fixture.ProvisionAsync(original);
        var backup = (await Fixture.Service<TenantBackups>().BackUpNowAsync(original, TenantBackups.RequestedReason, CancellationToken.None))!;
        var file = Path.Combine(MonolithFactory.BackupDirectory, original, $"{backup.Id}.dump");
        var bytes = await File.ReadAllBytesAsync(file);
        await File.WriteAllBytesAsync(file, bytes[..(bytes.Length / 2)]);
        var copy = MonolithFixture.UniqueIdentifier("nope");

        var failed = await Assert.ThrowsAsync<ProvisioningFailedException>(() => Fixture.Service<TenantProvisioner>().RestoreAsync(
            new RestoreTenantCommand(backup.Id, copy, null), Fixture.Factory.Services.GetServices<ITenantRestoreStep>(), CancellationToken.None));

        Assert.Contains("sha256", failed.Message, StringComparison.Ordinal);
        Assert.Null(await Fixture.Service<TenantCatalog>().FindAsync(copy, CancellationToken.None));
        await using var connection = new Npgsql.NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var schemas = new Npgsql.NpgsqlCommand($"SELECT count(*) FROM pg_namespace WHERE nspname = '{TenantIdentifier.SchemaNameOf(copy)}'", connection);
        Assert.Equal(0L, (long)(await schemas.ExecuteScalarAsync())!);
        var trail = await Fixture.Factory.PlatformClient().GetFromJsonAsync<JsonElement>($"/platform/audit-events?tenant={copy}&action=tenant.restore");
        Assert.Equal("failed", trail.GetProperty("items")[0].GetProperty("outcome").GetString());
        Assert.NotEqual(ProvisioningStatus.Done, (await Fixture.Service<TenantProvisioner>().RestoreAsync(
            new RestoreTenantCommand(Guid.CreateVersion7(), copy, null), [], CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_backup_of_an_older_schema_version_restores_and_is_brought_to_the_newest_scripts()
    {
        // The schema as it was before the users' lifecycle script (0030): the restore then also runs its data migration
        // (the users that exist count as verified). The older schema's owner is written as that schema knew users.
        var latest = MigrationScripts.Tenant;
        var older = new MigrationScripts(latest.Scripts.TakeWhile(s => !s.Name.StartsWith("0030_", StringComparison.Ordinal)));
        Assert.True(older.Scripts.Count < latest.Scripts.Count);
        var original = MonolithFixture.UniqueIdentifier("older");
        var oldProvisioner = new TenantProvisioner(
            Fixture.Service<PlatformDatabase>(), Fixture.Service<TenantServers>(), Fixture.Service<TenantCatalog>(), Fixture.Service<TenantCatalogCache>(),
            Fixture.Service<TenantContext>(), new TenantScripts(older), Fixture.Service<OperatorTrail>(), Fixture.Service<TenantBackups>(),
            Fixture.Service<TenantDatabase>(), Fixture.Service<IOptions<TenancyOptions>>(), TimeProvider.System, NullLogger<TenantProvisioner>.Instance,
            ownerSetup: null);
        var created = await oldProvisioner.CreateAsync(
            new CreateTenantCommand(original, original, MonolithFixture.OwnerEmail(original), MonolithFixture.OwnerPassword), CancellationToken.None);
        await using (var owner = new Npgsql.NpgsqlConnection(Fixture.ConnectionString))
        {
            await owner.OpenAsync();
            await using var insert = new Npgsql.NpgsqlCommand(
                $"INSERT INTO \"{created.Tenant!.SchemaName}\".users (id, email, name, role, password_hash) VALUES ($1, $2, 'Owner', 'owner', $3)", owner);
            insert.Parameters.AddWithValue(Guid.CreateVersion7());
            insert.Parameters.AddWithValue(MonolithFixture.OwnerEmail(original));
            using var passwords = new Monolith.Access.Passwords.UserPasswords();
            insert.Parameters.AddWithValue(passwords.Hash(MonolithFixture.OwnerPassword));
            await insert.ExecuteNonQueryAsync();
        }

        Assert.Equal(older.LatestVersion, created.Tenant!.SchemaVersion);
        var backup = (await Fixture.Service<TenantBackups>().BackUpNowAsync(original, TenantBackups.RequestedReason, CancellationToken.None))!;
        Assert.Equal(older.LatestVersion, backup.SchemaVersion);
        var copy = MonolithFixture.UniqueIdentifier("newer");

        var restored = await Fixture.Service<TenantProvisioner>().RestoreAsync(
            new RestoreTenantCommand(backup.Id, copy, null), Fixture.Factory.Services.GetServices<ITenantRestoreStep>(), CancellationToken.None);

        Assert.Equal(ProvisioningStatus.Done, restored.Status);
        Assert.Equal(latest.LatestVersion, restored.Tenant!.SchemaVersion);
        await using var connection = new Npgsql.NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var journal = new Npgsql.NpgsqlCommand(
            $"SELECT count(*) FROM \"{restored.Tenant.SchemaName}\".schemaversions WHERE scriptname = $1", connection);
        journal.Parameters.AddWithValue(latest.Scripts[^1].Name);
        Assert.Equal(1L, (long)(await journal.ExecuteScalarAsync())!);
        Assert.Equal(HttpStatusCode.OK, (await Fixture.Factory.TenantClient(copy).PostAsJsonAsync("/auth/token",
            new { email = MonolithFixture.OwnerEmail(original), password = MonolithFixture.OwnerPassword })).StatusCode);
        await using var verified = new Npgsql.NpgsqlCommand($"SELECT bool_and(email_verified) FROM \"{restored.Tenant.SchemaName}\".users", connection);
        Assert.True((bool)(await verified.ExecuteScalarAsync())!);
    }

    private static async Task<string> SnapshotAsync(HttpClient client, string customerId)
    {
        var parts = new List<string>();
        foreach (var path in new[] { "/customers", $"/customers/{customerId}/projects", $"/customers/{customerId}/warehouses" })
        {
            parts.Add((await client.GetFromJsonAsync<JsonElement>(path)).GetRawText());
        }

        // Users as they are, but for when they last signed in (signing in to the copy is part of the test).
        var users = await client.GetFromJsonAsync<JsonElement>("/users");
        parts.AddRange(users.GetProperty("items").EnumerateArray().Select(u =>
            $"{u.GetProperty("id")}:{u.GetProperty("email")}:{u.GetProperty("role")}:{u.GetProperty("status")}:{u.GetProperty("createdAt")}"));

        var features = await client.GetFromJsonAsync<JsonElement>("/features");
        parts.AddRange(features.GetProperty("items").EnumerateArray().Select(f =>
            $"{f.GetProperty("key").GetString()}:{f.GetProperty("enabled").GetBoolean()}:{f.GetProperty("rolloutPercent")}"));
        return string.Join("\n", parts);
    }
}
