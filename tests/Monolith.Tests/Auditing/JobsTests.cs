using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hangfire;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Auditing.Jobs;
using Monolith.Auditing.Trail;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy;
using Monolith.Tenancy.Backups;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Provisioning;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Auditing;

/// <summary>A host with a Hangfire server (the rest of the suite runs without one), fast polling and a one-second retry.</summary>
public sealed class JobsHost : IAsyncLifetime
{
    public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);

    public MonolithFactory Factory { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var database = await TestDatabase.Shared;
        Factory = new MonolithFactory(database.Connections, new Dictionary<string, string?>
        {
            ["Jobs:ServerEnabled"] = "true",
            ["Jobs:WorkerCount"] = "2",
            ["Jobs:QueuePollMilliseconds"] = "200",
            ["Jobs:SchedulePollMilliseconds"] = "200",
            ["Jobs:RetryAttempts"] = "3",
            ["Jobs:RetryDelaysSeconds:0"] = "1",
            ["Retention:AuditBatchSize"] = "2",
        }, services => services.AddSingleton<TimeProvider>(Clock));
        _ = Factory.Server;
    }

    public T Service<T>()
        where T : notnull => Factory.Services.GetRequiredService<T>();

    /// <summary>Waits (bounded) until the job is in a final state and returns that state's name.</summary>
    public async Task<string> WaitForJobAsync(string jobId)
    {
        var storage = Service<JobStorage>();
        for (var i = 0; i < 600; i++)
        {
            using var connection = storage.GetConnection();
            var state = connection.GetStateData(jobId)?.Name;
            if (state == SucceededState.StateName || state == FailedState.StateName || state == DeletedState.StateName)
            {
                return state;
            }

            await Task.Delay(100);
        }

        return "timed out";
    }

    public async Task DisposeAsync() => await Factory.DisposeAsync();
}

/// <summary>What a probe job saw of its context.</summary>
public sealed record ProbeObservation(string? Tenant, string? ActorKind, string? ActorName, string? RequestId);

/// <summary>A job that records the context it runs in and changes tenant data (so the change's audit record shows the job as actor).</summary>
public sealed class TenantProbeJob(TenantContext tenants, TenantDatabase database)
{
    public static ConcurrentDictionary<string, ProbeObservation> Seen { get; } = new();

    public async Task RunAsync(string probe)
    {
        var operation = OperationContext.Current;
        Seen[probe] = new ProbeObservation(tenants.Current?.Identifier, operation?.ActorKind, operation?.ActorName, operation?.RequestId);
        await using var session = await database.BeginAsync();
        var connection = session.Connection;
        await using var command = new NpgsqlCommand("INSERT INTO tenant_settings (key, value) VALUES ($1, 'true')", connection);
        command.Parameters.AddWithValue(probe);
        await command.ExecuteNonQueryAsync();
        await session.CommitAsync(CancellationToken.None);
    }
}

[Trait("Category", Categories.Integration)]
public sealed class JobsTests(MonolithFixture fixture, JobsHost jobs) : IntegrationTest(fixture), IClassFixture<JobsHost>
{
    [Fact]
    public async Task Inside_a_job_the_tenant_context_is_the_jobs_tenant_and_its_changes_are_audited_as_the_job()
    {
        var (alpha, beta) = (await Fixture.TenantAsync(MonolithFixture.Alpha), await Fixture.TenantAsync(MonolithFixture.Beta));
        var client = jobs.Service<IBackgroundJobClient>();
        var tenants = jobs.Service<TenantContext>();
        var (alphaProbe, betaProbe) = ("probe-" + Guid.NewGuid().ToString("N")[..8], "probe-" + Guid.NewGuid().ToString("N")[..8]);

        string alphaJob, betaJob;
        using (tenants.Enter(alpha))
        {
            alphaJob = client.Enqueue<TenantProbeJob>(j => j.RunAsync(alphaProbe));
        }

        using (tenants.Enter(beta))
        {
            betaJob = client.Enqueue<TenantProbeJob>(j => j.RunAsync(betaProbe));
        }

        Assert.Equal(SucceededState.StateName, await jobs.WaitForJobAsync(alphaJob));
        Assert.Equal(SucceededState.StateName, await jobs.WaitForJobAsync(betaJob));
        Assert.Equal(MonolithFixture.Alpha, TenantProbeJob.Seen[alphaProbe].Tenant);
        Assert.Equal(MonolithFixture.Beta, TenantProbeJob.Seen[betaProbe].Tenant);
        Assert.Equal(ActorKinds.Job, TenantProbeJob.Seen[alphaProbe].ActorKind);
        Assert.Equal("job-" + alphaJob, TenantProbeJob.Seen[alphaProbe].RequestId);

        var record = Assert.Single(await Fixture.AuditRowsAsync(alpha), r => r.EntityId == alphaProbe);
        Assert.Equal(ActorKinds.Job, record.ActorKind);
        Assert.Equal("TenantProbeJob.RunAsync", record.ActorEmail);
        Assert.Equal("job-" + alphaJob, record.RequestId);
        Assert.DoesNotContain(await Fixture.AuditRowsAsync(beta), r => r.EntityId == alphaProbe);
    }

    [Fact]
    public async Task A_retention_job_that_crashes_midway_is_retried_and_removes_exactly_the_expired_records()
    {
        var tenant = await Fixture.ProvisionAsync(MonolithFixture.UniqueIdentifier("crash"));
        await Fixture.SuperuserSqlAsync("UPDATE platform.tenants SET audit_retention_days = 30 WHERE id = $1", tenant.Id);
        await Fixture.WriteChangesAsync(tenant, "old", 7);
        var boundary = await Fixture.DatabaseNowAsync();
        await Fixture.WriteChangesAsync(tenant, "young", 3);
        var young = (await Fixture.AuditRowsAsync(tenant)).Where(r => r.OccurredAt >= boundary).Select(r => r.Id).ToList();

        // The second batch's commit fails once, after the first batch (2 records) was committed: a crash midway.
        var schema = $"\"{tenant.SchemaName}\"";
        await Fixture.SuperuserSqlAsync(
            $$"""
            SET ROLE {{TestDatabase.OwnerRole}};
            CREATE SEQUENCE {{schema}}.crash_once;
            CREATE FUNCTION {{schema}}.crash_once() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('{{schema}}.crash_once') = 2 THEN RAISE EXCEPTION 'simulated crash'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER crash_once BEFORE INSERT OR UPDATE ON {{schema}}.audit_chain_anchor
                FOR EACH ROW EXECUTE FUNCTION {{schema}}.crash_once();
            """);
        jobs.Clock.Now = boundary.AddDays(30);

        string jobId;
        using (jobs.Service<TenantContext>().Enter(await Fixture.TenantAsync(tenant.Identifier)))
        {
            jobId = jobs.Service<IBackgroundJobClient>().Enqueue<RetentionJobs>(j => j.RunTenantAsync(tenant.Identifier, null, CancellationToken.None));
        }

        Assert.Equal(SucceededState.StateName, await jobs.WaitForJobAsync(jobId));
        using (var connection = jobs.Service<JobStorage>().GetConnection())
        {
            Assert.Equal("1", connection.GetJobParameter(jobId, "RetryCount")); // it failed once, then succeeded
        }

        Assert.Equal(young, (await Fixture.AuditRowsAsync(tenant)).Select(r => r.Id).ToList());
        using (Fixture.Service<TenantContext>().Enter(tenant))
        {
            Assert.True((await VerifyAuditTrail.VerifyAsync(Fixture.Service<TenantDatabase>(), CancellationToken.None)).Valid);
        }

        var statuses = await RetentionStatusesAsync(tenant.Identifier);
        Assert.Equal(["failed", "succeeded"], statuses);
    }

    [Fact]
    public async Task The_daily_job_fans_out_one_retention_job_per_live_tenant()
    {
        var tenant = await Fixture.ProvisionAsync(MonolithFixture.UniqueIdentifier("fan"));
        jobs.Clock.Now = DateTimeOffset.UtcNow;
        var jobId = jobs.Service<IBackgroundJobClient>().Enqueue<RetentionJobs>(j => j.FanOutAsync(null, CancellationToken.None));

        Assert.Equal(SucceededState.StateName, await jobs.WaitForJobAsync(jobId));
        for (var i = 0; i < 300 && (await RetentionStatusesAsync(tenant.Identifier)).Count == 0; i++)
        {
            await Task.Delay(100);
        }

        Assert.Contains("succeeded", await WaitForFinishedAsync(tenant.Identifier));
        var recurring = jobs.Service<JobStorage>().GetConnection().GetAllEntriesFromHash($"recurring-job:{RetentionJobs.RecurringId}");
        Assert.Equal("0 3 * * *", recurring!["Cron"]);
    }

    [Fact]
    public async Task The_purge_job_runs_through_hangfire_as_a_job_and_purges_a_tenant_past_its_grace()
    {
        var identifier = MonolithFixture.UniqueIdentifier("pastdue");
        await Fixture.ProvisionAsync(identifier);
        jobs.Clock.Now = DateTimeOffset.UtcNow;
        Assert.Equal(ProvisioningStatus.Done, (await jobs.Service<TenantProvisioner>().DeleteAsync(identifier, CancellationToken.None)).Status);
        jobs.Clock.Now = DateTimeOffset.UtcNow.AddDays(31);

        var jobId = jobs.Service<IBackgroundJobClient>().Enqueue<TenantPurge>(p => p.RunAsync(CancellationToken.None));

        Assert.Equal(SucceededState.StateName, await jobs.WaitForJobAsync(jobId));
        Assert.Null(await Fixture.Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None));
        var purge = (await Fixture.Factory.PlatformClient().GetFromJsonAsync<JsonElement>(
            $"/platform/audit-events?tenant={identifier}&action=tenant.purge")).GetProperty("items")[0];
        Assert.Equal("job", purge.GetProperty("actor").GetProperty("kind").GetString());
        Assert.Equal("succeeded", purge.GetProperty("outcome").GetString());
        var recurring = jobs.Service<JobStorage>().GetConnection().GetAllEntriesFromHash($"recurring-job:{TenantPurge.JobId}");
        Assert.Equal("17 3 * * *", recurring!["Cron"]);
    }

    [Fact]
    public async Task An_accepted_backup_is_made_by_a_hangfire_worker_and_reported_completed()
    {
        var identifier = MonolithFixture.UniqueIdentifier("bkjob");
        await Fixture.ProvisionAsync(identifier);
        var platform = jobs.Factory.PlatformClient();

        var accepted = await platform.PostAsync($"/platform/tenants/{identifier}/backups", null);

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var body = await accepted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("running", body.GetProperty("status").GetString());
        Assert.Equal($"/platform/backups/{body.GetProperty("id").GetString()}", accepted.Headers.Location!.OriginalString);
        JsonElement backup = default;
        for (var i = 0; i < 300; i++)
        {
            backup = await platform.GetFromJsonAsync<JsonElement>(accepted.Headers.Location);
            if (backup.GetProperty("status").GetString() != "running")
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal("completed", backup.GetProperty("status").GetString());
        Assert.True(backup.GetProperty("sizeBytes").GetInt64() > 0);
        Assert.Equal(64, backup.GetProperty("sha256").GetString()!.Length);

        // The job list shows it with the other platform jobs' runs.
        var listed = await platform.GetFromJsonAsync<JsonElement>("/platform/jobs?kind=backup&limit=200");
        var run = Assert.Single(listed.GetProperty("items").EnumerateArray(), r => r.GetProperty("id").GetString() == body.GetProperty("id").GetString());
        Assert.Equal("backup", run.GetProperty("kind").GetString());
        Assert.Equal("completed", run.GetProperty("status").GetString());
        Assert.Equal(identifier, run.GetProperty("tenant").GetString());
        Assert.Equal("requested", run.GetProperty("backup").GetProperty("reason").GetString());
        Assert.Equal(backup.GetProperty("sizeBytes").GetInt64(), run.GetProperty("backup").GetProperty("sizeBytes").GetInt64());
        Assert.DoesNotContain((await platform.GetFromJsonAsync<JsonElement>("/platform/jobs?kind=restore&limit=200")).GetProperty("items").EnumerateArray(),
            r => r.GetProperty("kind").GetString() != "restore");
    }

    [Fact]
    public async Task An_accepted_restore_is_made_by_a_hangfire_worker_and_a_taken_identifier_is_409()
    {
        var original = MonolithFixture.UniqueIdentifier("rsrc");
        await Fixture.ProvisionAsync(original);
        var backup = (await Fixture.Service<TenantBackups>().BackUpNowAsync(original, TenantBackups.RequestedReason, CancellationToken.None))!;
        var platform = jobs.Factory.PlatformClient();
        var copy = MonolithFixture.UniqueIdentifier("rcopy");

        Assert.Equal(HttpStatusCode.Conflict, (await platform.PostAsJsonAsync($"/platform/backups/{backup.Id}/restore", new { identifier = original })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await platform.PostAsJsonAsync($"/platform/backups/{backup.Id}/restore", new { identifier = "Bad_Id" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await platform.PostAsJsonAsync($"/platform/backups/{Guid.CreateVersion7()}/restore", new { identifier = copy })).StatusCode);
        var accepted = await platform.PostAsJsonAsync($"/platform/backups/{backup.Id}/restore", new { identifier = copy, name = "The copy" });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);

        JsonElement job = default;
        for (var i = 0; i < 300; i++)
        {
            job = await platform.GetFromJsonAsync<JsonElement>(accepted.Headers.Location);
            if (job.GetProperty("status").GetString() != "running")
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal("completed", job.GetProperty("status").GetString());
        var listed = await platform.GetFromJsonAsync<JsonElement>("/platform/jobs?limit=200");
        var run = Assert.Single(listed.GetProperty("items").EnumerateArray(), r => r.GetProperty("kind").GetString() == "restore" && r.GetProperty("tenant").GetString() == copy);
        Assert.Equal("completed", run.GetProperty("status").GetString());
        Assert.Equal(backup.Id, run.GetProperty("backup").GetProperty("backupId").GetGuid());
        var tenant = await platform.GetFromJsonAsync<JsonElement>($"/platform/tenants/{copy}");
        Assert.Equal("active", tenant.GetProperty("status").GetString());
        Assert.Equal("The copy", tenant.GetProperty("name").GetString());
    }

    [Fact]
    public async Task A_job_for_a_tenant_that_no_longer_exists_is_not_performed()
    {
        var tenant = await Fixture.ProvisionAsync(MonolithFixture.UniqueIdentifier("gone"));
        var probe = "probe-" + Guid.NewGuid().ToString("N")[..8];
        string jobId;
        using (jobs.Service<TenantContext>().Enter(tenant))
        {
            // Scheduled, so it cannot start before the tenant is deleted.
            jobId = jobs.Service<IBackgroundJobClient>().Schedule<TenantProbeJob>(j => j.RunAsync(probe), TimeSpan.FromSeconds(1));
        }

        await Fixture.Service<Monolith.Tenancy.Provisioning.TenantProvisioner>().DeleteAsync(tenant.Identifier, CancellationToken.None);

        Assert.Equal(DeletedState.StateName, await jobs.WaitForJobAsync(jobId)); // cancelled by the tenant filter
        Assert.False(TenantProbeJob.Seen.ContainsKey(probe));
    }

    [Fact]
    public async Task The_dashboard_refuses_requests_without_the_platform_key()
    {
        var anonymous = Fixture.Factory.CreateClient();
        var response = await anonymous.GetAsync("/hangfire");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("Basic", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/hangfire/jobs/succeeded")).StatusCode);

        var wrongKey = Fixture.Factory.CreateClient();
        wrongKey.DefaultRequestHeaders.Add("X-Platform-Key", "not-the-key");
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrongKey.GetAsync("/hangfire")).StatusCode);

        // A tenant's token never authenticates an operator: outside its tenant it stands for nobody (docs/adr/0013).
        var tenantUser = await Fixture.ClientAsAsync(MonolithFixture.Alpha, Roles.Owner);
        Assert.Equal(HttpStatusCode.Unauthorized, (await tenantUser.GetAsync("/hangfire")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await Fixture.Factory.PlatformClient().GetAsync("/hangfire")).StatusCode);
        var basic = Fixture.Factory.CreateClient();
        basic.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes("operator:" + MonolithFactory.PlatformKey)));
        Assert.Equal(HttpStatusCode.OK, (await basic.GetAsync("/hangfire")).StatusCode);
    }

    [Fact]
    public async Task A_worker_only_process_answers_nothing_but_its_health_and_its_metrics()
    {
        await using var worker = new MonolithFactory(Fixture.Connections, new Dictionary<string, string?>
        {
            ["Jobs:WorkerOnly"] = "true",
            ["Jobs:WorkerCount"] = "1",
        });
        var client = worker.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/audit-events")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await worker.PlatformClient().GetAsync("/platform/tenants")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await worker.PlatformClient().GetAsync("/hangfire")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await worker.PlatformClient().GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/metrics")).StatusCode);
    }

    private async Task<List<string>> WaitForFinishedAsync(string tenant)
    {
        for (var i = 0; i < 300; i++)
        {
            var statuses = await RetentionStatusesAsync(tenant);
            if (statuses.Count > 0 && !statuses.Contains("running"))
            {
                return statuses;
            }

            await Task.Delay(100);
        }

        return [];
    }

    private async Task<List<string>> RetentionStatusesAsync(string tenant)
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT status FROM platform.retention_runs WHERE tenant = $1 ORDER BY started_at, id", connection);
        command.Parameters.AddWithValue(tenant);
        var statuses = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            statuses.Add(reader.GetString(0));
        }

        return statuses;
    }
}
