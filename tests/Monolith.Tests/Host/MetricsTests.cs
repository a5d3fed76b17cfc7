using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Host;

/// <summary>CONTRACT §6: <c>GET /metrics</c> is Prometheus text behind the platform key; the tenant names spans, not series, by default.</summary>
[Trait("Category", Categories.Security)]
public sealed class MetricsTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task Metrics_without_the_platform_key_or_with_a_wrong_one_are_401_like_the_platform_api()
    {
        using var anonymous = Fixture.Factory.CreateClient();
        using var wrong = Fixture.Factory.CreateClient();
        wrong.DefaultRequestHeaders.Add("X-Platform-Key", "not-the-key-0123456789abcdef0123456789");
        using var owner = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        await owner.AuthorizeAsOwnerAsync(Fixture, MonolithFixture.Alpha);

        foreach (var client in new[] { anonymous, wrong, owner })
        {
            var response = await client.GetAsync("/metrics");

            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("/problems/platform-key-required", problem.GetProperty("type").GetString());
            Assert.DoesNotContain("# TYPE", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The same answer as the platform API gives.
        var platform = await anonymous.GetAsync("/platform/tenants");
        Assert.Equal(HttpStatusCode.Unauthorized, platform.StatusCode);
        Assert.Equal("/problems/platform-key-required", (await platform.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
    }

    [Fact]
    public async Task By_default_the_tenant_is_an_attribute_of_the_request_span_but_no_label_of_any_series()
    {
        var spans = new ConcurrentBag<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem("monolith.tenant") is string tenant)
                {
                    spans.Add(tenant);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        using var owner = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        await owner.AuthorizeAsOwnerAsync(Fixture, MonolithFixture.Alpha);

        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/customers")).StatusCode);
        var text = await ScrapeAsync(Fixture.Factory);

        Assert.Contains(MonolithFixture.Alpha, spans);
        Assert.Contains("http_server_request_duration_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.Contains("http_route=\"/customers/\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain($"tenant=\"{MonolithFixture.Alpha}\"", text, StringComparison.Ordinal);
    }

    internal static async Task<string> ScrapeAsync(MonolithFactory factory)
    {
        using var platform = factory.PlatformClient();
        var response = await platform.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }
}

/// <summary>
/// A host with a job server and <c>Telemetry:TenantLabel</c> on, and a login limit of one per minute: after traffic that
/// meets each bound, runs a job and queues a mail, <c>/metrics</c> shows every series CONTRACT §6 names.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class MetricsAfterTrafficTests : IAsyncLifetime
{
    private MonolithFactory factory = null!;
    private TestDatabase database = null!;

    public async Task InitializeAsync()
    {
        database = await TestDatabase.Shared;
        factory = new MonolithFactory(database.Connections, new Dictionary<string, string?>
        {
            ["Telemetry:TenantLabel"] = "true",
            ["Telemetry:GaugeCacheSeconds"] = "1",
            ["Jobs:ServerEnabled"] = "true",
            ["Jobs:QueuePollMilliseconds"] = "200",
            ["Jobs:SchedulePollMilliseconds"] = "200",
            ["Auth:RateLimits:LoginPermitLimit"] = "1",
        });
        _ = factory.Server;
    }

    public async Task DisposeAsync() => await factory.DisposeAsync();

    [Fact]
    public async Task After_refusals_a_job_and_a_mail_metrics_show_every_series_with_the_tenant_label_switched_on()
    {
        var tenant = MonolithFixture.UniqueIdentifier("metrics");
        using var platform = factory.PlatformClient();
        Assert.Equal(HttpStatusCode.Created, (await platform.PostAsJsonAsync("/platform/tenants", new
        {
            identifier = tenant, name = "Metrics", ownerEmail = MonolithFixture.OwnerEmail(tenant), ownerPassword = MonolithFixture.OwnerPassword,
        })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await platform.PatchAsJsonAsync($"/platform/tenants/{tenant}", new { statementTimeoutMs = 200 })).StatusCode);

        // The one anonymous request a minute this host allows, then a refusal by the rate limit.
        var tokens = await factory.LoginAsync(tenant, MonolithFixture.OwnerEmail(tenant), MonolithFixture.OwnerPassword);
        using (var anonymous = factory.TenantClient(tenant))
        {
            var refused = await anonymous.PostAsJsonAsync("/auth/token", new { email = MonolithFixture.OwnerEmail(tenant), password = "wrong" });
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        }

        using var owner = factory.TenantClient(tenant);
        owner.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/customers")).StatusCode);

        // A refusal by the statement timeout: the tenant's table is locked behind the API's back.
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using (var lockTable = new NpgsqlCommand($"LOCK TABLE \"{tenant.Replace('-', '_')}\".customers IN ACCESS EXCLUSIVE MODE", connection, transaction))
            {
                await lockTable.ExecuteNonQueryAsync();
            }

            var timedOut = await owner.PostAsJsonAsync("/customers", new
            {
                name = "Slow", email = "slow@example.test", projects = new[] { new { name = "First" } },
            });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, timedOut.StatusCode);
            await transaction.RollbackAsync();
        }

        // A mail in the outbox.
        Assert.Equal(HttpStatusCode.Created, (await owner.PostAsJsonAsync("/invitations", new { email = $"invitee@{tenant}.test", role = "member" })).StatusCode);

        // A job run: the anchoring pass, on this host's server (which also records the pass the lag gauge reads).
        var jobs = factory.Services.GetRequiredService<IBackgroundJobClient>();
        jobs.Enqueue<Monolith.Auditing.Trail.AuditAnchoring>(anchoring => anchoring.AnchorAllAsync(CancellationToken.None));

        string[] series =
        [
            "http_server_request_duration_seconds_bucket{",
            "db_client_connection",
            "monolith_tenant_refused_total{",
            "monolith_jobs_outcomes_total{",
            "monolith_mail_outbox_depth",
            "monolith_mail_outbox_oldest_due_age_seconds",
            "monolith_mail_outbox_tenants",
            "monolith_audit_anchor_lag_seconds",
            "monolith_logs_queued",
            "monolith_logs_dropped_total",
        ];
        var text = string.Empty;
        for (var attempt = 0; attempt < 100 && (series.Any(name => !text.Contains(name, StringComparison.Ordinal))
                                                   || !text.Contains("outcome=\"succeeded\"", StringComparison.Ordinal)); attempt++)
        {
            await Task.Delay(attempt == 0 ? 0 : 200);
            text = await MetricsTests.ScrapeAsync(factory);
        }

        foreach (var name in series)
        {
            Assert.Contains(name, text, StringComparison.Ordinal);
        }

        Assert.Contains("outcome=\"succeeded\"", text, StringComparison.Ordinal);
        // Each line is looked up with the tenant's label among its parts: OpenTelemetry's listener hears meters by name
        // process-wide, so the hosts of other test classes add their own unlabelled series to this scrape.
        var label = $"tenant=\"{tenant}\"";
        Line(text, "monolith_tenant_refused_total{", "reason=\"rate-limited\"", label);
        Line(text, "monolith_tenant_refused_total{", "reason=\"query-timeout\"", label);
        Line(text, "http_server_request_duration_seconds_count{", "http_route=\"/customers/\"", "http_request_method=\"GET\"", "http_response_status_code=\"200\"", label);
        Assert.Contains("pool_name=\"requests-0\"", text, StringComparison.Ordinal); // the request pool's first sub-pool (docs/adr/0064)

        // No secret in any label: the pools are named, never labelled by their connection strings.
        foreach (var connectionString in new[] { database.Connections.App, database.Connections.Owner })
        {
            Assert.DoesNotContain(new NpgsqlConnectionStringBuilder(connectionString).Password!, text, StringComparison.Ordinal);
        }
    }

    private static string Line(string text, string prefix, params string[] containing) =>
        text.Split('\n').FirstOrDefault(line => line.StartsWith(prefix, StringComparison.Ordinal) && containing.All(part => line.Contains(part, StringComparison.Ordinal)))
        ?? throw new Xunit.Sdk.XunitException($"no {prefix} line with {string.Join(", ", containing)} in:\n{text}");
}
