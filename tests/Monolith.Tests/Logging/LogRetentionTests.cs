using Microsoft.Extensions.DependencyInjection;
using Monolith.Auditing.Retention;
using Monolith.Tenancy.Catalog;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Logging;

/// <summary>Log retention with a controllable clock: rows are seeded directly with the superuser connection.</summary>
[Trait("Category", Categories.Integration)]
public sealed class LogRetentionTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    // A fixed "now" well in the past, so these partitions never meet the ones the running host writes today.
    private static readonly DateTimeOffset Now = new(2024, 6, 15, 12, 0, 0, TimeSpan.Zero);

    public override Task InitializeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_tenant_loses_exactly_its_rows_older_than_its_own_policy()
    {
        var (shortLived, other) = (Tenant(logRetentionDays: 10), Tenant(logRetentionDays: 90));
        var marker = PostgresLogSinkTests.Marker();
        await CreatePartitionsAsync(Now.AddDays(-12), 13);
        var expired = await SeedAsync(shortLived, Now.AddDays(-10).AddMinutes(-1), marker);
        var justYounger = await SeedAsync(shortLived, Now.AddDays(-10).AddMinutes(1), marker);
        var othersOld = await SeedAsync(other, Now.AddDays(-11), marker);

        var outcome = await RetentionTask().RunForTenantAsync(shortLived, Now, dryRun: false, CancellationToken.None);

        Assert.Equal((shortLived.Identifier, 1L, Now.AddDays(-10)), (outcome.Tenant, outcome.Removed, outcome.Cutoff));
        Assert.Equal([othersOld, justYounger], await RemainingAsync(marker));
        Assert.DoesNotContain(expired, await RemainingAsync(marker));
    }

    [Fact]
    public async Task A_dry_run_counts_without_removing_and_a_second_run_removes_nothing_more()
    {
        var tenant = Tenant(logRetentionDays: 5);
        var marker = PostgresLogSinkTests.Marker();
        await CreatePartitionsAsync(Now.AddDays(-8), 9);
        for (var i = 0; i < 3; i++)
        {
            await SeedAsync(tenant, Now.AddDays(-6 - i), marker);
        }

        var dry = await RetentionTask().RunForTenantAsync(tenant, Now, dryRun: true, CancellationToken.None);
        Assert.Equal(3, dry.Removed);
        Assert.Equal(3, (await RemainingAsync(marker)).Count);

        Assert.Equal(3, (await RetentionTask().RunForTenantAsync(tenant, Now, dryRun: false, CancellationToken.None)).Removed);
        Assert.Equal(0, (await RetentionTask().RunForTenantAsync(tenant, Now, dryRun: false, CancellationToken.None)).Removed);
        Assert.Empty(await RemainingAsync(marker));
    }

    [Fact]
    public async Task The_global_run_drops_whole_days_older_than_the_longest_policy_and_keeps_younger_ones()
    {
        var longest = Tenant(logRetentionDays: 60);
        var shorter = Tenant(logRetentionDays: 7);
        var marker = PostgresLogSinkTests.Marker();
        var oldDay = Now.AddDays(-70);
        await CreatePartitionsAsync(oldDay, 2);
        await CreatePartitionsAsync(Now.AddDays(-59), 1);
        await SeedAsync(longest, oldDay, marker);
        await SeedAsync(shorter, oldDay.AddDays(1), marker);
        var keptByLongestPolicy = await SeedAsync(longest, Now.AddDays(-59), marker);
        var shortersOldRow = await SeedAsync(shorter, Now.AddDays(-59).AddHours(1), marker);
        var platformOld = await SeedAsync(null, Now.AddDays(-59).AddHours(2), marker);   // no tenant: the default policy (30 days)
        var platformYoung = await SeedAsync(null, Now.AddDays(-29), marker, createPartition: true);

        var dry = await RetentionTask().RunGlobalAsync(Now, [longest, shorter], dryRun: true, CancellationToken.None);
        Assert.True(dry!.Removed >= 3);
        Assert.Equal(6, (await RemainingAsync(marker)).Count);

        var outcome = await RetentionTask().RunGlobalAsync(Now, [longest, shorter], dryRun: false, CancellationToken.None);

        Assert.Equal(Now.AddDays(-60), outcome!.Cutoff);
        Assert.Equal([keptByLongestPolicy, shortersOldRow, platformYoung], await RemainingAsync(marker));
        Assert.DoesNotContain(platformOld, await RemainingAsync(marker));
        var days = await Fixture.Service<Monolith.Auditing.Logging.LogPartitions>().ListDaysAsync(CancellationToken.None);
        Assert.DoesNotContain(days, p => p.Day == DateOnly.FromDateTime(oldDay.UtcDateTime));

        // The shorter policy is the per-tenant step's work.
        await RetentionTask().RunForTenantAsync(shorter, Now, dryRun: false, CancellationToken.None);
        Assert.Equal([keptByLongestPolicy, platformYoung], await RemainingAsync(marker));
    }

    [Fact]
    public async Task Rows_in_the_default_partition_are_removed_only_when_older_than_the_longest_policy()
    {
        var tenant = Tenant(logRetentionDays: 30);
        var marker = PostgresLogSinkTests.Marker();
        // Days with no partition: the rows land in the default partition.
        var old = await SeedAsync(tenant, new DateTimeOffset(2019, 1, 2, 0, 0, 0, TimeSpan.Zero), marker);
        var young = await SeedAsync(tenant, Now.AddDays(-20).AddMinutes(7), marker);
        Assert.Equal("events_default", await LogTable.PartitionOfAsync(Fixture.ConnectionString, marker + "-" + old.ToString("N")));

        await RetentionTask().RunGlobalAsync(Now, [tenant], dryRun: false, CancellationToken.None);

        Assert.Equal([young], await RemainingAsync(marker));
    }

    private IRetentionTask RetentionTask() =>
        Fixture.Factory.Services.GetServices<IRetentionTask>().Single(t => t.Name == "logs");

    private static TenantInfo Tenant(int? logRetentionDays)
    {
        var identifier = MonolithFixture.UniqueIdentifier("logret");
        return new TenantInfo(Guid.CreateVersion7(), identifier, identifier, identifier.Replace('-', '_'), "t_none", TenantStatus.Active, null, null,
            logRetentionDays, Now.AddYears(-1), Now.AddYears(-1));
    }

    private async Task CreatePartitionsAsync(DateTimeOffset first, int days)
    {
        // As the owner role, which makes them in production (and must be able to drop them).
        await using var connection = new NpgsqlConnection(Fixture.Connections.Owner);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT logs.ensure_partitions($1, $2)", connection);
        command.Parameters.AddWithValue(DateOnly.FromDateTime(first.UtcDateTime));
        command.Parameters.AddWithValue(days);
        await command.ExecuteScalarAsync();
    }

    /// <summary>One row per call; its marker is "{marker}-{id}" so each row can be found on its own, and all by prefix.</summary>
    private async Task<Guid> SeedAsync(TenantInfo? tenant, DateTimeOffset time, string marker, bool createPartition = false)
    {
        if (createPartition)
        {
            await CreatePartitionsAsync(time, 1);
        }

        var id = Guid.NewGuid();
        await LogTable.InsertAsync(Fixture.ConnectionString, time.UtcDateTime, tenant?.Identifier, marker + "-" + id.ToString("N"));
        return id;
    }

    private async Task<List<Guid>> RemainingAsync(string marker)
    {
        var rows = await LogTable.RowsAsync(Fixture.ConnectionString, "properties->>'Marker' LIKE @m", ("m", marker + "-%"));
        return rows.Select(r => Guid.ParseExact(r.Properties.GetProperty("Marker").GetString()![(marker.Length + 1)..], "N")).ToList();
    }
}
