using Microsoft.Extensions.DependencyInjection;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.SharedKernel.Caching;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Placement;
using Monolith.Tests.Auditing;
using Monolith.Tests.Support;
using Monolith.Toggles.Evaluation;
using Npgsql;

namespace Monolith.Tests.Access;

/// <summary>
/// The user cache's poll visits the tenants in use, not every tenant the instance has ever served (issue 16): a tenant
/// unused for <see cref="CurrentUsers.IdleTenant"/> is dropped before the poll and reloads on its next use.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class CurrentUsersIdleTenantsTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task A_tenant_unused_for_the_idle_time_is_dropped_before_the_poll_and_reloads_on_use()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var users = new CurrentUsers(Fixture.Service<AccessDatabase>(), Fixture.Service<TenantServers>(), clock);
        users.OnListening();
        var catalog = Fixture.Service<TenantCatalog>();
        var alpha = (await catalog.FindAsync(MonolithFixture.Alpha, CancellationToken.None))!;
        var beta = (await catalog.FindAsync(MonolithFixture.Beta, CancellationToken.None))!;

        await LookUpAsync(users, alpha);
        await PollAsync(users); // a use counts at the first poll after it (IdleMark)
        clock.Now += CurrentUsers.IdleTenant - TimeSpan.FromMinutes(1);
        await LookUpAsync(users, beta);
        await PollAsync(users);
        Assert.Equal(2, users.Tenants); // both used within the idle time: both polled, both kept

        clock.Now += TimeSpan.FromMinutes(2); // alpha unused for longer than the idle time, beta for two minutes
        await PollAsync(users);
        Assert.Equal(1, users.Tenants);

        await LookUpAsync(users, alpha);
        Assert.Equal(2, users.Tenants);
    }

    /// <summary>
    /// With more tenants in use than one poll visits, each poll visits the next ones: a change whose notification was lost
    /// is still caught, within ⌈tenants ÷ <see cref="CurrentUsers.TenantsPerPoll"/>⌉ polls.
    /// </summary>
    [Fact]
    public async Task A_poll_visits_its_bound_of_tenants_and_the_next_poll_the_next_ones()
    {
        var users = new CurrentUsers(Fixture.Service<AccessDatabase>(), Fixture.Service<TenantServers>(), TimeProvider.System) { TenantsPerPoll = 1 };
        users.OnListening();
        var catalog = Fixture.Service<TenantCatalog>();
        var alpha = (await catalog.FindAsync(MonolithFixture.Alpha, CancellationToken.None))!;
        var beta = (await catalog.FindAsync(MonolithFixture.Beta, CancellationToken.None))!;
        await LookUpAsync(users, alpha);
        await LookUpAsync(users, beta);
        await PollAsync(users);
        Assert.Equal(2, users.Tenants); // nothing changed

        // Behind the triggers' backs (no notification), both tenants' change counters move.
        await using (var connection = new NpgsqlConnection(Fixture.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                $"""
                 SET session_replication_role = replica;
                 INSERT INTO "{alpha.SchemaName}".access_state AS a (id, version) VALUES (true, 1) ON CONFLICT (id) DO UPDATE SET version = a.version + 1;
                 INSERT INTO "{beta.SchemaName}".access_state AS a (id, version) VALUES (true, 1) ON CONFLICT (id) DO UPDATE SET version = a.version + 1;
                 RESET session_replication_role;
                 """, connection);
            await command.ExecuteNonQueryAsync();
        }

        await PollAsync(users);
        Assert.Equal(1, users.Tenants); // the one tenant this poll visited
        await PollAsync(users);
        Assert.Equal(0, users.Tenants);
    }

    /// <summary>A poll that cannot reach the server trusts none of its tenants, not only those it would have visited.</summary>
    [Fact]
    public async Task A_poll_that_cannot_reach_the_server_forgets_all_its_tenants()
    {
        var unreachable = new NpgsqlConnectionStringBuilder(Fixture.Connections.Owner) { Port = 1, Timeout = 2 }.ConnectionString;
        await using var platform = new PlatformDatabase(Fixture.Connections.App, unreachable);
        var users = new CurrentUsers(Fixture.Service<AccessDatabase>(), new TenantServers(platform), TimeProvider.System) { TenantsPerPoll = 1 };
        users.OnListening();
        var catalog = Fixture.Service<TenantCatalog>();
        await LookUpAsync(users, (await catalog.FindAsync(MonolithFixture.Alpha, CancellationToken.None))!);
        await LookUpAsync(users, (await catalog.FindAsync(MonolithFixture.Beta, CancellationToken.None))!);
        Assert.Equal(2, users.Tenants);

        await PollAsync(users);

        Assert.Equal(0, users.Tenants);
    }

    /// <summary>
    /// The poll reads the server's copy of the versions (docs/adr/0072), not the tenant's table: a tenant whose state table
    /// is locked (a migration, a TRUNCATE) keeps its entries. A poll that opened the table would give up on the lock and
    /// forget them.
    /// </summary>
    [Fact]
    public async Task A_poll_does_not_open_the_tenants_table_and_keeps_a_tenant_whose_table_is_locked()
    {
        var users = new CurrentUsers(Fixture.Service<AccessDatabase>(), Fixture.Service<TenantServers>(), TimeProvider.System);
        users.OnListening();
        var tenant = await Fixture.ProvisionAsync(MonolithFixture.UniqueIdentifier("poll"));
        await LookUpAsync(users, tenant);
        await PollAsync(users); // makes the new tenant's copy, from its table
        Assert.Equal(1, users.Tenants);

        await using var migration = new NpgsqlConnection(Fixture.Connections.Superuser);
        await migration.OpenAsync();
        await using var transaction = await migration.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand($"LOCK TABLE \"{tenant.SchemaName}\".access_state IN ACCESS EXCLUSIVE MODE", migration, transaction))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        await PollAsync(users);

        Assert.Equal(1, users.Tenants);
        await transaction.RollbackAsync();
    }

    [Fact]
    public async Task How_many_tenants_a_poll_visits_is_configuration_for_both_caches_and_below_one_is_refused_at_start()
    {
        Assert.Equal(PollRotation.DefaultPerPass, Fixture.Service<CurrentUsers>().TenantsPerPoll);
        await using (var factory = new MonolithFactory(Fixture.Connections, new Dictionary<string, string?> { ["Tenancy:CachePollTenants"] = "7" }))
        {
            Assert.Equal(7, factory.Services.GetRequiredService<CurrentUsers>().TenantsPerPoll);
            Assert.Equal(7, factory.Services.GetRequiredService<ToggleChangeListener>().TenantsPerPoll);
        }

        var error = Assert.Throws<InvalidOperationException>(() => new TenancyOptions { CachePollTenants = 0 }.ValidCachePollTenants());
        Assert.Contains("Tenancy__CachePollTenants", error.Message, StringComparison.Ordinal);
    }

    /// <summary>An unknown session: cached as nobody, which is an entry like any other.</summary>
    private async Task LookUpAsync(CurrentUsers users, TenantInfo tenant)
    {
        using (Fixture.Service<TenantContext>().Enter(tenant))
        {
            Assert.Null(await users.FindAsync(tenant, Guid.NewGuid(), Guid.NewGuid(), CancellationToken.None));
        }
    }

    /// <summary>The hub passes its listening connection; the poll opens one of the owner pool instead, so none is given.</summary>
    private static Task PollAsync(CurrentUsers users) => users.PollAsync(TenantServers.Catalog, connection: null!, CancellationToken.None);
}
