using System.Collections.Concurrent;
using DbUp.Engine;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Monolith.Auditing.Retention;
using Monolith.Migrations;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Operators;
using Monolith.Tenancy.Placement;
using Monolith.Tenancy.Provisioning;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>A database of its own holding exactly five tenants, so a pass over "every tenant" is a pass over these.</summary>
public sealed class FanOutDatabase : IAsyncLifetime
{
    public TestConnections Connections { get; private set; } = null!;

    public MonolithFactory Factory { get; private set; } = null!;

    /// <summary>The tenants in identifier order (the order every pass takes them in).</summary>
    public IReadOnlyList<TenantInfo> Tenants { get; private set; } = [];

    public async Task InitializeAsync()
    {
        Connections = await (await TestDatabase.Shared).CreateDatabaseAsync("monolith_fanout");
        Factory = new MonolithFactory(Connections, new Dictionary<string, string?> { ["Tenancy:SpareSchemas"] = "0" });
        _ = Factory.Server;
        var tenants = new List<TenantInfo>();
        foreach (var prefix in new[] { "fa", "fb", "fc", "fd", "fe" })
        {
            var identifier = MonolithFixture.UniqueIdentifier(prefix);
            var result = await Service<TenantProvisioner>().CreateAsync(
                new CreateTenantCommand(identifier, identifier, MonolithFixture.OwnerEmail(identifier), MonolithFixture.OwnerPassword), CancellationToken.None);
            tenants.Add(result.Tenant ?? throw new InvalidOperationException($"provisioning {identifier}: {result.Status}"));
        }

        Tenants = tenants;
    }

    public T Service<T>()
        where T : notnull => Factory.Services.GetRequiredService<T>();

    public async Task<long> ScalarAsync(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(Connections.Superuser);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Tenant roles are the server's, not the database's: purged, so tests that count stray roles see none of these.</summary>
    public async Task DisposeAsync()
    {
        var platform = Factory.PlatformClient();
        foreach (var tenant in Tenants)
        {
            await platform.DeleteAsync($"/platform/tenants/{tenant.Identifier}?purge=true&archive=false");
        }

        await Factory.DisposeAsync();
    }
}

/// <summary>A job client that only counts what would have been enqueued (the next pass of a chain).</summary>
internal sealed class RecordingJobClient : IBackgroundJobClient
{
    public ConcurrentQueue<Job> Created { get; } = new();

    public string Create(Job job, IState state)
    {
        Created.Enqueue(job);
        return Created.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public bool ChangeState(string jobId, IState state, string expectedState) => true;
}

/// <summary>
/// Work that fans out over tenants goes in bounded passes: a pass takes at most its batch, the next one continues, and a pass
/// cut short is continued without redoing what it finished (issue 16).
/// </summary>
[Trait("Category", Categories.Integration)]
[Collection(IntegrationCollection.Name)]
public sealed class FanOutPassTests(FanOutDatabase db) : IClassFixture<FanOutDatabase>
{
    [Fact]
    public async Task A_migration_job_pass_takes_at_most_its_batch_and_the_next_pass_continues_until_every_tenant_is_reported()
    {
        var script = new SqlScript("9100_fanout_batch.sql", "ALTER TABLE tenant_settings ADD COLUMN IF NOT EXISTS fanout_batch text;");
        var jobClient = new RecordingJobClient();
        var jobs = JobsWith(MigrationScripts.Tenant.With(script), batch: 2, jobClient);
        var id = await NewMigrationJobAsync();

        await jobs.RunAsync(id, CancellationToken.None);
        Assert.Equal(2, await ReportedAsync(id));
        Assert.Single(jobClient.Created);
        var firstFinished = await db.ScalarAsync(
            "SELECT (extract(epoch FROM max(finished_at)) * 1000000)::bigint FROM platform.migration_job_tenants WHERE job_id = $1", id);
        Assert.Equal(1, await db.ScalarAsync("SELECT count(*) FROM platform.migration_jobs WHERE id = $1 AND status = 'running'", id));

        await jobs.RunAsync(id, CancellationToken.None);
        Assert.Equal(4, await ReportedAsync(id));
        await jobs.RunAsync(id, CancellationToken.None);

        Assert.Equal(5, await ReportedAsync(id));
        Assert.Equal(2, jobClient.Created.Count); // no pass after the last
        Assert.Equal(1, await db.ScalarAsync("SELECT count(*) FROM platform.migration_jobs WHERE id = $1 AND status = 'succeeded'", id));
        Assert.Equal(5, await db.ScalarAsync("SELECT count(*) FROM platform.migration_job_tenants WHERE job_id = $1 AND status = 'migrated'", id));
        // The first pass's tenants were not taken again.
        Assert.Equal(firstFinished, await db.ScalarAsync(
            "SELECT (extract(epoch FROM max(finished_at)) * 1000000)::bigint FROM platform.migration_job_tenants WHERE job_id = $1 AND identifier = ANY($2)",
            id, db.Tenants.Take(2).Select(t => t.Identifier).ToArray()));
        await AssertAppliedOnceEverywhereAsync(script.Name);
    }

    [Fact]
    public async Task A_migration_job_pass_cut_short_is_continued_by_the_next_without_redoing_or_losing_a_tenant()
    {
        var blocked = db.Tenants[1];
        const long gate = 7_716_016;
        var script = new SqlScript("9101_fanout_cut.sql",
            $"DO $$ BEGIN IF current_schema() = '{blocked.SchemaName}' THEN PERFORM pg_advisory_xact_lock_shared({gate}); END IF; END $$;" +
            " ALTER TABLE tenant_settings ADD COLUMN IF NOT EXISTS fanout_cut text;");
        var jobs = JobsWith(MigrationScripts.Tenant.With(script), batch: 10, new RecordingJobClient());
        var id = await NewMigrationJobAsync();

        await using (var holder = new NpgsqlConnection(db.Connections.Superuser))
        {
            await holder.OpenAsync();
            await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({gate})", holder))
            {
                await take.ExecuteNonQueryAsync();
            }

            using var shutdown = new CancellationTokenSource();
            var pass = jobs.RunAsync(id, shutdown.Token);
            await WaitUntilAsync(async () => await ReportedAsync(id) >= 1);
            await shutdown.CancelAsync(); // the host stops while the second tenant is being migrated
            await using (var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({gate})", holder))
            {
                await release.ExecuteNonQueryAsync();
            }

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pass);
        }

        Assert.Equal(1, await ReportedAsync(id));
        var firstFinished = await db.ScalarAsync(
            "SELECT (extract(epoch FROM finished_at) * 1000000)::bigint FROM platform.migration_job_tenants WHERE job_id = $1", id);

        await jobs.RunAsync(id, CancellationToken.None);

        Assert.Equal(5, await ReportedAsync(id));
        Assert.Equal(1, await db.ScalarAsync("SELECT count(*) FROM platform.migration_jobs WHERE id = $1 AND status = 'succeeded'", id));
        Assert.Equal(firstFinished, await db.ScalarAsync(
            "SELECT (extract(epoch FROM finished_at) * 1000000)::bigint FROM platform.migration_job_tenants WHERE job_id = $1 AND identifier = $2",
            id, db.Tenants[0].Identifier));
        await AssertAppliedOnceEverywhereAsync(script.Name);
    }

    [Fact]
    public async Task A_retention_pass_batch_takes_at_most_its_size_and_the_next_batch_continues_until_the_pass_ends()
    {
        var task = new CountingTask();
        var passes = PassesWith(task, batch: 2);
        var pass = await passes.StartAsync(RetentionSources.Manual, null, CancellationToken.None);

        var first = await passes.RunBatchAsync(pass, null, CancellationToken.None);
        Assert.Equal(2, first.Tenants);
        Assert.True(first.More);
        Assert.Equal(db.Tenants.Take(2).Select(t => t.Identifier), task.Seen);
        Assert.Equal(2, await db.ScalarAsync("SELECT done FROM platform.retention_passes WHERE id = $1", pass));
        Assert.Equal(5, await db.ScalarAsync("SELECT tenants FROM platform.retention_passes WHERE id = $1", pass));

        Assert.True((await passes.RunBatchAsync(pass, null, CancellationToken.None)).More);
        var last = await passes.RunBatchAsync(pass, null, CancellationToken.None);

        Assert.Equal(1, last.Tenants);
        Assert.False(last.More);
        Assert.Equal(db.Tenants.Select(t => t.Identifier), task.Seen);
        Assert.Equal(1, await db.ScalarAsync("SELECT count(*) FROM platform.retention_passes WHERE id = $1 AND status = 'succeeded' AND done = 5", pass));
        Assert.Equal(0, (await passes.RunBatchAsync(pass, null, CancellationToken.None)).Tenants); // an ended pass does nothing
    }

    [Fact]
    public async Task A_retention_pass_cut_short_is_continued_without_redoing_a_finished_tenant()
    {
        using var shutdown = new CancellationTokenSource();
        var task = new CountingTask { CancelAt = db.Tenants[2].Identifier, Shutdown = shutdown };
        var passes = PassesWith(task, batch: 10);
        var pass = await passes.StartAsync(RetentionSources.Manual, null, CancellationToken.None);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => passes.RunBatchAsync(pass, null, shutdown.Token));
        Assert.Equal(1, await db.ScalarAsync(
            "SELECT count(*) FROM platform.retention_runs WHERE pass_id = $1 AND tenant = $2 AND status = 'failed' AND error = 'interrupted'",
            pass, db.Tenants[2].Identifier));

        task.CancelAt = null;
        var next = await passes.RunBatchAsync(pass, null, CancellationToken.None);

        Assert.False(next.More);
        Assert.Equal(3, next.Tenants); // the interrupted tenant and the two never reached
        Assert.Equal(
            db.Tenants.Select(t => t.Identifier).Append(db.Tenants[2].Identifier).Order(StringComparer.Ordinal),
            task.Seen.Order(StringComparer.Ordinal)); // only the interrupted one ran twice
        Assert.Equal(1, await db.ScalarAsync("SELECT count(*) FROM platform.retention_passes WHERE id = $1 AND status = 'succeeded' AND done = 5", pass));
    }

    [Fact]
    public async Task A_tenant_that_keeps_failing_is_given_up_after_its_attempts_and_the_pass_ends_failed()
    {
        var task = new CountingTask { FailFor = db.Tenants[3].Identifier };
        var passes = PassesWith(task, batch: 10);
        var pass = await passes.StartAsync(RetentionSources.Manual, null, CancellationToken.None);

        var batches = 0;
        while ((await passes.RunBatchAsync(pass, null, CancellationToken.None)).More)
        {
            Assert.True(++batches < 10, "the pass did not end");
        }

        Assert.Equal(3, task.Seen.Count(t => t == db.Tenants[3].Identifier));
        Assert.Equal(1, await db.ScalarAsync(
            "SELECT count(*) FROM platform.retention_passes WHERE id = $1 AND status = 'failed' AND done = 4 AND failed = 1", pass));
    }

    private MigrationJobs JobsWith(MigrationScripts scripts, int batch, IBackgroundJobClient client)
    {
        var migrator = new TenantMigrator(
            db.Service<PlatformDatabase>(), db.Service<TenantServers>(), db.Service<TenantCatalog>(), db.Service<TenantCatalogCache>(), new TenantScripts(scripts),
            db.Service<OperatorTrail>(), NullLogger<TenantMigrator>.Instance);
        var options = Options.Create(new TenancyOptions { MigrationBatchSize = batch, MigrationParallelism = 1 });
        return new MigrationJobs(db.Service<PlatformDatabase>(), db.Service<TenantCatalog>(), migrator, options, client, NullLogger<MigrationJobs>.Instance);
    }

    private RetentionPasses PassesWith(IRetentionTask task, int batch)
    {
        var runner = new RetentionRunner(
            [task], db.Service<ITenantDirectory>(), db.Service<IOperatorTrail>(), db.Service<PlatformDatabase>(), db.Service<TenantContext>(),
            TimeProvider.System, NullLogger<RetentionRunner>.Instance);
        return new RetentionPasses(runner, db.Service<ITenantDirectory>(), db.Service<PlatformDatabase>(),
            Options.Create(new RetentionOptions { TenantsPerBatch = batch }), NullLogger<RetentionPasses>.Instance);
    }

    private async Task<Guid> NewMigrationJobAsync()
    {
        var id = Guid.CreateVersion7();
        await db.ScalarAsync("WITH j AS (INSERT INTO platform.migration_jobs (id, status) VALUES ($1, 'queued') RETURNING 1) SELECT count(*) FROM j", id);
        return id;
    }

    private Task<long> ReportedAsync(Guid job) =>
        db.ScalarAsync("SELECT count(*) FROM platform.migration_job_tenants WHERE job_id = $1", job);

    private async Task AssertAppliedOnceEverywhereAsync(string scriptName)
    {
        foreach (var tenant in db.Tenants)
        {
            Assert.Equal(1, await db.ScalarAsync($"SELECT count(*) FROM \"{tenant.SchemaName}\".schemaversions WHERE scriptname = $1", scriptName));
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not come true");
            await Task.Delay(20);
        }
    }

    /// <summary>A retention task that records each tenant it runs for; it can fail for one, or stop the host at one.</summary>
    private sealed class CountingTask : IRetentionTask
    {
        private readonly ConcurrentQueue<string> seen = new();

        public string? CancelAt { get; set; }

        public string? FailFor { get; set; }

        public CancellationTokenSource? Shutdown { get; init; }

        public IReadOnlyList<string> Seen => seen.ToArray();

        public string Name => "counting";

        public Task<RetentionOutcome?> RunGlobalAsync(DateTimeOffset now, IReadOnlyList<TenantInfo> tenants, bool dryRun, CancellationToken ct) =>
            Task.FromResult<RetentionOutcome?>(null);

        public async Task<RetentionOutcome> RunForTenantAsync(TenantInfo tenant, DateTimeOffset now, bool dryRun, CancellationToken ct)
        {
            seen.Enqueue(tenant.Identifier);
            if (tenant.Identifier == CancelAt)
            {
                await Shutdown!.CancelAsync();
                ct.ThrowIfCancellationRequested();
            }

            if (tenant.Identifier == FailFor)
            {
                throw new InvalidOperationException("this tenant's retention keeps failing");
            }

            return new RetentionOutcome(Name, tenant.Identifier, 0, now);
        }
    }
}
