using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hangfire;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tenancy.Notifications;
using Monolith.Tenancy.Provisioning;
using Monolith.Tests.Access;
using Monolith.Tests.Support;

namespace Monolith.Tests.Host;

/// <summary>
/// Two host instances on one database of their own, each with a Hangfire server on the shared storage. Host B checks the
/// catalog for missed changes only once an hour: whatever it follows within the test, it followed through the change
/// notification.
/// </summary>
public sealed class TwoHosts : IAsyncLifetime
{
    public MonolithFactory A { get; private set; } = null!;

    public MonolithFactory B { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var database = await (await TestDatabase.Shared).CreateDatabaseAsync("monolith_twohosts");
        A = new MonolithFactory(database, Settings(catalogPollMilliseconds: 200));
        _ = A.Server; // the platform scripts run once, on the first host
        B = new MonolithFactory(database, Settings(catalogPollMilliseconds: 3_600_000));
        _ = B.Server;
        await SecondHostFixture.ListeningAsync(A);
        await SecondHostFixture.ListeningAsync(B);
    }

    /// <summary>Tenant roles are the server's, not the database's: purged, so tests that count stray roles see none of these.</summary>
    public async Task DisposeAsync()
    {
        var platform = A.PlatformClient();
        var tenants = await platform.GetFromJsonAsync<JsonElement>("/platform/tenants?limit=200");
        foreach (var tenant in tenants.GetProperty("items").EnumerateArray())
        {
            await platform.DeleteAsync($"/platform/tenants/{tenant.GetProperty("identifier").GetString()}?purge=true&archive=false");
        }

        await B.DisposeAsync();
        await A.DisposeAsync();
    }

    private static Dictionary<string, string?> Settings(int catalogPollMilliseconds) => new()
    {
        ["Tenancy:CatalogPollMilliseconds"] = catalogPollMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Tenancy:SpareSchemas"] = "0",
        ["Jobs:ServerEnabled"] = "true",
        ["Jobs:WorkerCount"] = "4",
        ["Jobs:QueuePollMilliseconds"] = "100",
        ["Jobs:SchedulePollMilliseconds"] = "200",
    };
}

/// <summary>A job that counts its runs by token, and takes a moment so both servers' workers compete for the queue.</summary>
public static class CountedJob
{
    public static ConcurrentDictionary<string, int> Runs { get; } = new();

    public static async Task RunAsync(string token)
    {
        Runs.AddOrUpdate(token, 1, (_, runs) => runs + 1);
        await Task.Delay(50);
    }
}

[Trait("Category", Categories.Integration)]
[Collection(IntegrationCollection.Name)]
public sealed class TwoHostsTests(TwoHosts hosts) : IClassFixture<TwoHosts>
{
    [Fact]
    public async Task A_tenant_suspended_through_one_host_is_refused_by_the_other_through_the_change_notification()
    {
        var tenant = MonolithFixture.UniqueIdentifier("two");
        Assert.Equal(HttpStatusCode.Created, (await hosts.A.PlatformClient().PostAsJsonAsync("/platform/tenants", new
        {
            identifier = tenant, name = tenant, ownerEmail = MonolithFixture.OwnerEmail(tenant), ownerPassword = MonolithFixture.OwnerPassword,
        })).StatusCode);
        var onB = hosts.B.TenantClient(tenant);
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(onB, tenant)).StatusCode); // B has the tenant, active, in its cache
        var listens = hosts.B.Services.GetRequiredService<ChangeNotificationHub>().Connections;

        Assert.Equal(HttpStatusCode.OK, (await hosts.A.PlatformClient().PostAsync($"/platform/tenants/{tenant}/suspend", null)).StatusCode);

        HttpResponseMessage refused;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        do
        {
            refused = await LoginAsync(onB, tenant);
        }
        while (refused.StatusCode == HttpStatusCode.OK && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.EndsWith("tenant-suspended", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString(), StringComparison.Ordinal);
        // Not a reconnect of B's listener (which starts its cache afresh): the notification itself.
        Assert.Equal(listens, hosts.B.Services.GetRequiredService<ChangeNotificationHub>().Connections);

        Assert.Equal(HttpStatusCode.OK, (await hosts.A.PlatformClient().PostAsync($"/platform/tenants/{tenant}/resume", null)).StatusCode);
        HttpResponseMessage resumed;
        deadline = DateTime.UtcNow.AddSeconds(20);
        do
        {
            resumed = await LoginAsync(onB, tenant);
        }
        while (resumed.StatusCode != HttpStatusCode.OK && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
    }

    [Fact]
    public async Task Jobs_enqueued_through_one_host_run_exactly_once_with_servers_on_both()
    {
        var client = hosts.A.Services.GetRequiredService<IBackgroundJobClient>();
        var tokens = Enumerable.Range(0, 40).Select(_ => Guid.NewGuid().ToString("N")).ToArray();
        var ids = tokens.Select(token => client.Enqueue(() => CountedJob.RunAsync(token))).ToArray();

        var storage = hosts.B.Services.GetRequiredService<JobStorage>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (ids.Any(id => State(storage, id) != SucceededState.StateName) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.All(ids, id => Assert.Equal(SucceededState.StateName, State(storage, id)));
        Assert.All(ids, id => Assert.Single(storage.GetMonitoringApi().JobDetails(id).History, h => h.StateName == ProcessingState.StateName));
        Assert.All(tokens, token => Assert.Equal(1, CountedJob.Runs[token]));
    }

    [Fact]
    public async Task A_migration_job_accepted_by_one_host_runs_once_and_both_report_it()
    {
        var accepted = await hosts.A.PlatformClient().PostAsync("/platform/migrations", null);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var jobId = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetString();

        JsonElement job;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        do
        {
            job = await hosts.B.PlatformClient().GetFromJsonAsync<JsonElement>($"/platform/migrations/{jobId}");
            await Task.Delay(100);
        }
        while (job.GetProperty("status").GetString() is not ("succeeded" or "failed") && DateTime.UtcNow < deadline);

        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        var storage = hosts.A.Services.GetRequiredService<JobStorage>();
        var runs = storage.GetMonitoringApi().SucceededJobs(0, 1000)
            .Where(j => j.Value.Job?.Type == typeof(MigrationJobs) && j.Value.Job.Args[0]?.ToString() == jobId)
            .ToList();
        var run = Assert.Single(runs); // one pass (the tenants fit in one batch), run by one server
        Assert.Single(storage.GetMonitoringApi().JobDetails(run.Key).History, h => h.StateName == ProcessingState.StateName);
    }

    private static Task<HttpResponseMessage> LoginAsync(HttpClient client, string tenant) =>
        client.PostAsJsonAsync("/auth/token", new { email = MonolithFixture.OwnerEmail(tenant), password = MonolithFixture.OwnerPassword });

    private static string? State(JobStorage storage, string id)
    {
        using var connection = storage.GetConnection();
        return connection.GetStateData(id)?.Name;
    }
}
