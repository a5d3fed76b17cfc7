using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DbUp.Engine;
using Microsoft.Extensions.Logging.Abstractions;
using Monolith.Migrations;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Operators;
using Monolith.Tenancy.Placement;
using Monolith.Tenancy.Provisioning;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>Migrating every tenant: each schema to the newest scripts, one failure never stops the others.</summary>
[Trait("Category", Categories.Integration)]
public sealed class MigrationTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task A_new_script_reaches_every_tenant_and_their_versions_are_recorded_and_a_rerun_skips_them()
    {
        var tenants = new[] { MonolithFixture.UniqueIdentifier("mig"), MonolithFixture.UniqueIdentifier("mig") };
        foreach (var t in tenants)
        {
            await Fixture.ProvisionAsync(t);
        }

        var script = new SqlScript("9000_mig_test_column.sql", "ALTER TABLE tenant_settings ADD COLUMN IF NOT EXISTS note text;");
        var migrator = MigratorWith(MigrationScripts.Tenant.With(script));

        var results = await migrator.MigrateAllAsync(4, null, CancellationToken.None);

        foreach (var t in tenants)
        {
            var result = results.Single(r => r.Identifier == t);
            Assert.Equal(TenantMigrationState.Migrated, result.State);
            Assert.Equal(["9000_mig_test_column"], result.Applied);
            var row = await Fixture.Service<TenantCatalog>().FindAsync(t, CancellationToken.None);
            Assert.Equal("9000_mig_test_column", row!.SchemaVersion);
            Assert.Equal(1L, await CountAsync($"SELECT count(*) FROM information_schema.columns WHERE table_schema = '{TenantIdentifier.SchemaNameOf(t)}' AND column_name = 'note'"));
        }

        var rerun = await migrator.MigrateAllAsync(4, null, CancellationToken.None);
        Assert.All(rerun.Where(r => tenants.Contains(r.Identifier)), r => Assert.Equal(TenantMigrationState.Current, r.State));
        await ResetVersionsAsync(tenants);
    }

    [Fact]
    public async Task One_failing_tenant_does_not_stop_the_others_and_is_reported()
    {
        var good = MonolithFixture.UniqueIdentifier("okay");
        var bad = MonolithFixture.UniqueIdentifier("fail");
        await Fixture.ProvisionAsync(good);
        await Fixture.ProvisionAsync(bad);
        var badSchema = TenantIdentifier.SchemaNameOf(bad);
        var script = new SqlScript("9001_fails_for_one.sql",
            $"DO $$ BEGIN IF current_schema() = '{badSchema}' THEN RAISE EXCEPTION 'broken for this tenant'; END IF; END $$; ALTER TABLE tenant_settings ADD COLUMN IF NOT EXISTS note2 text;");

        var results = await MigratorWith(MigrationScripts.Tenant.With(script)).MigrateAllAsync(2, null, CancellationToken.None);

        Assert.Equal(TenantMigrationState.Migrated, results.Single(r => r.Identifier == good).State);
        var failed = results.Single(r => r.Identifier == bad);
        Assert.Equal(TenantMigrationState.Failed, failed.State);
        Assert.Equal(3, failed.Attempts);
        Assert.Contains("9001_fails_for_one", failed.Error, StringComparison.Ordinal);
        var badRow = await Fixture.Service<TenantCatalog>().FindAsync(bad, CancellationToken.None);
        Assert.NotEqual("9001_fails_for_one", badRow!.SchemaVersion);
        var run = (await Fixture.Factory.PlatformClient().GetFromJsonAsync<JsonElement>("/platform/audit-events?action=migration.run&limit=1"))
            .GetProperty("items")[0];
        Assert.Equal("failed", run.GetProperty("outcome").GetString());
        Assert.Contains($"1 failed ({bad})", run.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // The standard scripts are unchanged, so resetting the versions lets other tests see them as current again.
        await ResetVersionsAsync([good, bad]);
        await Fixture.Factory.PlatformClient().DeleteAsync($"/platform/tenants/{bad}?purge=true&archive=false");
    }

    [Fact]
    public async Task The_migration_job_reports_per_tenant_progress()
    {
        // The suite's hosts run no Hangfire server: this one performs the job the fixture's host accepts.
        await using var worker = StartJobServer();
        var client = Fixture.Factory.PlatformClient();
        var accepted = await client.PostAsync("/platform/migrations", null);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var jobId = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetString();
        Assert.Equal($"/platform/migrations/{jobId}", accepted.Headers.Location?.OriginalString);

        var job = await WaitForMigrationJobAsync(client, jobId!);

        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        var tenants = job.GetProperty("tenants").EnumerateArray().ToArray();
        Assert.Contains(tenants, t => t.GetProperty("identifier").GetString() == MonolithFixture.Alpha);
        Assert.All(tenants, t => Assert.Contains(t.GetProperty("status").GetString(), new[] { "current", "migrated" }));

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/platform/migrations/{Guid.CreateVersion7()}")).StatusCode);
    }

    [Fact]
    public async Task A_migration_job_accepted_by_a_host_that_then_stops_finishes_on_a_host_started_later()
    {
        string jobId;
        await using (var accepting = new MonolithFactory(Fixture.Connections))
        {
            var accepted = await accepting.PlatformClient().PostAsync("/platform/migrations", null);
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            jobId = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetString()!;
            var queued = await accepting.PlatformClient().GetFromJsonAsync<JsonElement>($"/platform/migrations/{jobId}");
            Assert.Equal("queued", queued.GetProperty("status").GetString());
        }

        await using var later = StartJobServer();
        var job = await WaitForMigrationJobAsync(later.PlatformClient(), jobId);

        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.Contains(job.GetProperty("tenants").EnumerateArray(), t => t.GetProperty("identifier").GetString() == MonolithFixture.Alpha);
        Assert.Equal(1, await CountAsync($"SELECT count(*) FROM platform.migration_jobs WHERE id = '{jobId}' AND started_at IS NOT NULL"));
    }

    [Fact]
    public async Task Hosts_starting_at_once_on_a_fresh_database_migrate_the_platform_exactly_once()
    {
        var database = await Fixture.Database.CreateDatabaseAsync("monolith_race");
        var factories = Enumerable.Range(0, 4).Select(_ => new MonolithFactory(database)).ToArray();
        try
        {
            await Task.WhenAll(factories.Select(f => Task.Run(() => f.Server)));
            await using var connection = new NpgsqlConnection(database.Superuser);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT count(*) FROM platform.schemaversions", connection);
            Assert.Equal((long)MigrationScripts.Platform.Scripts.Count, await command.ExecuteScalarAsync());
        }
        finally
        {
            foreach (var factory in factories)
            {
                await factory.DisposeAsync();
            }
        }
    }

    /// <summary>A host that runs a Hangfire server, polling its queue fast.</summary>
    private MonolithFactory StartJobServer()
    {
        var factory = new MonolithFactory(Fixture.Connections, new Dictionary<string, string?>
        {
            ["Jobs:ServerEnabled"] = "true",
            ["Jobs:QueuePollMilliseconds"] = "200",
            ["Jobs:SchedulePollMilliseconds"] = "200",
        });
        _ = factory.Server;
        return factory;
    }

    /// <summary>Polls the job (bounded) until it has ended and returns its last report.</summary>
    private static async Task<JsonElement> WaitForMigrationJobAsync(HttpClient client, string jobId)
    {
        JsonElement job;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        do
        {
            job = await client.GetFromJsonAsync<JsonElement>($"/platform/migrations/{jobId}");
            if (job.GetProperty("status").GetString() is "succeeded" or "failed")
            {
                break;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);

        return job;
    }

    private TenantMigrator MigratorWith(MigrationScripts scripts) => new(
        Fixture.Service<PlatformDatabase>(), Fixture.Service<TenantServers>(), Fixture.Service<TenantCatalog>(), Fixture.Service<TenantCatalogCache>(),
        new TenantScripts(scripts), Fixture.Service<OperatorTrail>(), NullLogger<TenantMigrator>.Instance);

    /// <summary>Drops the test scripts' traces so later tests see these tenants as they were.</summary>
    private async Task ResetVersionsAsync(IEnumerable<string> identifiers)
    {
        foreach (var identifier in identifiers)
        {
            await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("UPDATE platform.tenants SET schema_version = $2 WHERE identifier = $1", connection);
            command.Parameters.AddWithValue(identifier);
            command.Parameters.AddWithValue(MigrationScripts.Tenant.LatestVersion!);
            await command.ExecuteNonQueryAsync();
        }
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
