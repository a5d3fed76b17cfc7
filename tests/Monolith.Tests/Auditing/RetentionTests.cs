using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Auditing.Trail;
using Monolith.Cli;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tests.Support;

namespace Monolith.Tests.Auditing;

/// <summary>
/// Audit retention on a controlled clock: records written before a boundary instant expire when the clock is set to
/// boundary + policy, the ones written after it do not, in the tenant the policy belongs to and nowhere else.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class RetentionTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task Retention_removes_exactly_the_expired_records_of_the_named_tenant()
    {
        var (one, two) = (await ProvisionAsync("ret"), await ProvisionAsync("ret"));
        await SetAuditRetentionAsync(one, 30);
        await SetAuditRetentionAsync(two, 30);
        await Fixture.WriteChangesAsync(one, "old", 5);
        await Fixture.WriteChangesAsync(two, "old", 3);
        var boundary = await Fixture.DatabaseNowAsync();
        await Fixture.WriteChangesAsync(one, "young", 4);
        await Fixture.WriteChangesAsync(two, "young", 2);
        var youngOfOne = (await Fixture.AuditRowsAsync(one)).Where(r => r.OccurredAt >= boundary).Select(r => r.Id).ToList();
        var oldOfOne = (await Fixture.AuditRowsAsync(one)).Count(r => r.OccurredAt < boundary);
        var allOfTwo = (await Fixture.AuditRowsAsync(two)).Count;

        var (exit, stdout, _) = await CliAsync(boundary.AddDays(30), "retention", "run", "--tenant", one.Identifier);

        Assert.Equal(CliApp.Success, exit);
        Assert.True(oldOfOne >= 5);
        Assert.Contains($"{one.Identifier}: audit: removed {oldOfOne} ", stdout, StringComparison.Ordinal);
        Assert.Equal(youngOfOne, (await Fixture.AuditRowsAsync(one)).Select(r => r.Id).ToList());
        Assert.Equal(allOfTwo, (await Fixture.AuditRowsAsync(two)).Count); // the other tenant is untouched
        Assert.True((await VerifyAsync(one)).Valid);
        var run = (await Fixture.Factory.PlatformClient().GetFromJsonAsync<JsonElement>(
            $"/platform/audit-events?tenant={one.Identifier}&action=retention.run")).GetProperty("items")[0];
        Assert.Equal("succeeded", run.GetProperty("outcome").GetString());
        Assert.Equal("cli", run.GetProperty("actor").GetProperty("kind").GetString());
        Assert.Contains($"audit: {oldOfOne} removed before", run.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_tenant_keeps_its_own_policy_and_nothing_younger_is_removed()
    {
        var (shortPolicy, longPolicy) = (await ProvisionAsync("ret"), await ProvisionAsync("ret"));
        await SetAuditRetentionAsync(shortPolicy, 10);
        await SetAuditRetentionAsync(longPolicy, 60);
        await Fixture.WriteChangesAsync(shortPolicy, "old", 3);
        await Fixture.WriteChangesAsync(longPolicy, "old", 3);
        var boundary = await Fixture.DatabaseNowAsync();
        await Fixture.WriteChangesAsync(shortPolicy, "young", 2);
        await Fixture.WriteChangesAsync(longPolicy, "young", 2);
        var allOfShort = (await Fixture.AuditRowsAsync(shortPolicy)).Count;
        var allOfLong = (await Fixture.AuditRowsAsync(longPolicy)).Count;

        // When the oldest record is exactly 10 days old it is not yet older than the policy: nothing goes.
        var oldest = (await Fixture.AuditRowsAsync(shortPolicy))[0].OccurredAt;
        var (exit, _, _) = await CliAsync(oldest.AddDays(10), "retention", "run", "--tenant", shortPolicy.Identifier);
        Assert.Equal(CliApp.Success, exit);
        Assert.Equal(allOfShort, (await Fixture.AuditRowsAsync(shortPolicy)).Count);

        // Every tenant at boundary + 10 days: the short policy loses its old records, the long one nothing.
        (exit, _, _) = await CliAsync(boundary.AddDays(10), "retention", "run");
        Assert.Equal(CliApp.Success, exit);
        Assert.All(await Fixture.AuditRowsAsync(shortPolicy), r => Assert.StartsWith("young-", r.EntityId, StringComparison.Ordinal));
        Assert.Equal(2, (await Fixture.AuditRowsAsync(shortPolicy)).Count);
        Assert.Equal(allOfLong, (await Fixture.AuditRowsAsync(longPolicy)).Count);

        // Run again: idempotent.
        (exit, _, _) = await CliAsync(boundary.AddDays(10), "retention", "run", "--tenant", shortPolicy.Identifier);
        Assert.Equal(CliApp.Success, exit);
        Assert.Equal(2, (await Fixture.AuditRowsAsync(shortPolicy)).Count);

        // At boundary + 60 days the long policy's old records go too (and every record of the short policy has expired).
        (exit, _, _) = await CliAsync(boundary.AddDays(60), "retention", "run");
        Assert.Equal(CliApp.Success, exit);
        Assert.Empty(await Fixture.AuditRowsAsync(shortPolicy));
        Assert.All(await Fixture.AuditRowsAsync(longPolicy), r => Assert.StartsWith("young-", r.EntityId, StringComparison.Ordinal));
        Assert.True((await VerifyAsync(shortPolicy)).Valid);
        Assert.True((await VerifyAsync(longPolicy)).Valid);
    }

    [Fact]
    public async Task A_dry_run_reports_what_would_go_and_removes_nothing()
    {
        var tenant = await ProvisionAsync("ret");
        await SetAuditRetentionAsync(tenant, 30);
        await Fixture.WriteChangesAsync(tenant, "old", 3);
        var boundary = await Fixture.DatabaseNowAsync();
        await Fixture.WriteChangesAsync(tenant, "young", 1);
        var rows = await Fixture.AuditRowsAsync(tenant);

        var (exit, stdout, _) = await CliAsync(boundary.AddDays(30), "retention", "run", "--tenant", tenant.Identifier, "--dry-run");

        Assert.Equal(CliApp.Success, exit);
        Assert.Contains($"{tenant.Identifier}: audit: would remove {rows.Count(r => r.OccurredAt < boundary)} ", stdout, StringComparison.Ordinal);
        Assert.Equal(rows.Count, (await Fixture.AuditRowsAsync(tenant)).Count);
    }

    [Fact]
    public async Task After_retention_empties_the_trail_new_records_still_chain_to_the_removed_ones()
    {
        var tenant = await ProvisionAsync("ret");
        await SetAuditRetentionAsync(tenant, 1);
        await Fixture.WriteChangesAsync(tenant, "old", 3);
        var removedHead = (await Fixture.AuditRowsAsync(tenant))[^1];
        var now = await Fixture.DatabaseNowAsync();

        var (exit, _, _) = await CliAsync(now.AddDays(2), "retention", "run", "--tenant", tenant.Identifier);
        Assert.Equal(CliApp.Success, exit);
        Assert.Empty(await Fixture.AuditRowsAsync(tenant));

        await Fixture.WriteChangesAsync(tenant, "new", 2);
        var verdict = await VerifyAsync(tenant);
        Assert.True(verdict.Valid);
        Assert.Equal(2, verdict.Checked);

        // Removing the anchor (as someone with database access could) is detected at the first remaining record.
        await Fixture.SuperuserSqlAsync($"DELETE FROM \"{tenant.SchemaName}\".audit_chain_anchor");
        Assert.False((await VerifyAsync(tenant)).Valid);
        Assert.NotEqual(removedHead.Id, (await VerifyAsync(tenant)).FirstBrokenId);
    }

    [Fact]
    public async Task Runs_are_listed_by_get_platform_jobs()
    {
        var tenant = await ProvisionAsync("ret");
        await CliAsync(DateTimeOffset.UtcNow, "retention", "run", "--tenant", tenant.Identifier, "--dry-run");
        var platform = Fixture.Factory.PlatformClient();

        var page = await platform.GetFromJsonAsync<JsonElement>("/platform/jobs?kind=retention&limit=50");
        var run = page.GetProperty("items").EnumerateArray().First(i => i.GetProperty("tenant").GetString() == tenant.Identifier);
        Assert.Equal("retention", run.GetProperty("kind").GetString());
        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal("cli", run.GetProperty("source").GetString());
        Assert.True(run.GetProperty("dryRun").GetBoolean());
        Assert.Equal("audit", run.GetProperty("outcomes")[0].GetProperty("task").GetString());

        var migrations = await platform.GetFromJsonAsync<JsonElement>("/platform/jobs?kind=migration");
        Assert.All(migrations.GetProperty("items").EnumerateArray(), i => Assert.Equal("migration", i.GetProperty("kind").GetString()));

        Assert.Equal(HttpStatusCode.BadRequest, (await platform.GetAsync("/platform/jobs?kind=vacuum")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await platform.GetAsync("/platform/jobs?limit=0")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Fixture.Factory.CreateClient().GetAsync("/platform/jobs")).StatusCode);
        var tenantToken = await Fixture.ClientAsAsync(MonolithFixture.Alpha, "owner");
        Assert.Equal(HttpStatusCode.Unauthorized, (await tenantToken.GetAsync("/platform/jobs")).StatusCode);
    }

    [Theory]
    [InlineData("Not_An_Identifier", CliApp.InvalidUsage)]
    [InlineData("no-such-tenant", CliApp.Failure)]
    public async Task Retention_run_for_a_bad_or_unknown_tenant_exits_with_its_code(string identifier, int expected)
    {
        var (exit, _, stderr) = await CliAsync(DateTimeOffset.UtcNow, "retention", "run", "--tenant", identifier);
        Assert.Equal(expected, exit);
        Assert.False(string.IsNullOrWhiteSpace(stderr));
    }

    private async Task<TenantInfo> ProvisionAsync(string prefix) => await Fixture.ProvisionAsync(MonolithFixture.UniqueIdentifier(prefix));

    private async Task SetAuditRetentionAsync(TenantInfo tenant, int days)
    {
        var response = await Fixture.Factory.PlatformClient().PatchAsJsonAsync($"/platform/tenants/{tenant.Identifier}", new { auditRetentionDays = days });
        response.EnsureSuccessStatusCode();
    }

    private async Task<AuditVerification> VerifyAsync(TenantInfo tenant)
    {
        using var scope = Fixture.Service<TenantContext>().Enter(tenant);
        return await VerifyAuditTrail.VerifyAsync(Fixture.Service<TenantDatabase>(), CancellationToken.None);
    }

    private async Task<(int Exit, string Stdout, string Stderr)> CliAsync(DateTimeOffset now, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CliApp.RunAsync(args, stdout, stderr,
            [.. Fixture.Connections.Settings],
            services => services.AddSingleton<TimeProvider>(new ManualClock(now)));
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
