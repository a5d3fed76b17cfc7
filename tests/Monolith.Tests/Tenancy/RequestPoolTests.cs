using System.Data;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Monolith.Tenancy;
using Monolith.Tenancy.Bounds;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Placement;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// The request pool's bounds on PostgreSQL memory (docs/adr/0064): connection recycling defaults that the connection
/// string can override, and tenant affinity — the pool split into sub-pools, each tenant always served by the same one.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class RequestPoolTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task Recycling_and_affinity_defaults_are_applied_when_the_connection_string_does_not_say()
    {
        await using var database = new PlatformDatabase(Fixture.Connections.App, Fixture.Connections.Owner);
        var request = new NpgsqlConnectionStringBuilder(database.RequestConnectionString);

        Assert.Equal(PlatformDatabase.DefaultConnectionLifetimeSeconds, request.ConnectionLifetime);
        Assert.Equal(PlatformDatabase.DefaultConnectionIdleLifetimeSeconds, request.ConnectionIdleLifetime);
        Assert.Equal(PlatformDatabase.DefaultRequestPools, database.RequestPools);
        Assert.Equal(PlatformDatabase.DefaultBackendMemoryMegabytes, database.BackendMemoryMegabytes);
        Assert.All(database.RequestSubPools, pool => Assert.Equal(
            PlatformDatabase.DefaultConnectionLifetimeSeconds, new NpgsqlConnectionStringBuilder(pool.ConnectionString).ConnectionLifetime));
    }

    /// <summary>
    /// A backend that refuses <c>SET ROLE</c> to a tenant role (PostgreSQL's membership cache missed a grant under
    /// concurrent provisioning) is not given back to the pool. Here the login is simply no member of the tenant's role,
    /// so every attempt is refused: each backend, the pooled one first, is gone afterwards.
    /// </summary>
    [Fact]
    public async Task A_backend_that_refuses_set_role_leaves_the_pool_and_the_unit_of_work_is_tried_again_on_new_connections()
    {
        var login = "set_role_probe_" + Guid.NewGuid().ToString("N")[..8];
        var password = Guid.NewGuid().ToString("N");
        await TestDatabase.ExecuteAsync(Fixture.Connections.Superuser, $"CREATE ROLE {login} LOGIN PASSWORD '{password}'");
        try
        {
            var connectionString = new NpgsqlConnectionStringBuilder(Fixture.Connections.App) { Username = login, Password = password }.ConnectionString;
            await using var platform = new PlatformDatabase(connectionString, Fixture.Connections.Owner, requestPools: 1);
            var alpha = (await Fixture.Service<TenantCatalog>().FindAsync(MonolithFixture.Alpha, CancellationToken.None))!;
            await using (var warm = await platform.OpenTenantConnectionAsync(alpha.Id, ct: CancellationToken.None))
            {
                Assert.Equal(ConnectionState.Open, warm.State);
            }

            Assert.Equal(1L, await BackendsOfAsync(login)); // idle in the pool
            var context = Fixture.Service<TenantContext>();
            var database = new TenantDatabase(new TenantServers(platform), context, new TenantBounds(Options.Create(new TenancyOptions()), platform));
            using (context.Enter(alpha))
            {
                var refused = await Assert.ThrowsAsync<PostgresException>(() => database.BeginAsync());
                Assert.True(DatabaseFailures.IsSetRoleRefused(refused));
            }

            var until = DateTime.UtcNow.AddSeconds(30);
            while (await BackendsOfAsync(login) > 0 && DateTime.UtcNow < until)
            {
                await Task.Delay(50);
            }

            Assert.Equal(0L, await BackendsOfAsync(login));
        }
        finally
        {
            await TestDatabase.ExecuteAsync(Fixture.Connections.Superuser,
                $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{login}'; DROP ROLE {login}");
        }
    }

    /// <summary>
    /// The memory budget (docs/adr/0071): a backend is measured once the schemas it met could have filled its budget (at
    /// 1 MB and 300 kB per schema: its 4th distinct schema), and one that holds more ends when that session closes,
    /// taking its caches with it; the pool opens a new one. A schema served again counts once, and no session sees the
    /// ended backend.
    /// </summary>
    [Fact]
    public async Task A_backend_whose_memory_outgrows_its_budget_ends_and_the_pool_opens_a_new_one()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(Fixture.Connections.App) { MaxPoolSize = 1 }.ConnectionString;
        await using var platform = new PlatformDatabase(connectionString, Fixture.Connections.Owner, requestPools: 1, backendMemoryMegabytes: 1);
        var catalog = Fixture.Service<TenantCatalog>();
        var alpha = (await catalog.FindAsync(MonolithFixture.Alpha, CancellationToken.None))!;
        var beta = (await catalog.FindAsync(MonolithFixture.Beta, CancellationToken.None))!;
        var third = await Fixture.ProvisionAsync(MonolithFixture.UniqueIdentifier("budget-a"));
        var fourth = await Fixture.ProvisionAsync(MonolithFixture.UniqueIdentifier("budget-b"));
        var context = Fixture.Service<TenantContext>();
        var database = new TenantDatabase(new TenantServers(platform), context, new TenantBounds(Options.Create(new TenancyOptions()), platform));
        async Task<int> ServeAsync(TenantInfo tenant)
        {
            using var scope = context.Enter(tenant);
            await using var session = await database.BeginAsync();
            await using var command = session.Command("SELECT pg_backend_pid()");
            return (int)(await command.ExecuteScalarAsync())!;
        }

        var first = await ServeAsync(alpha);
        Assert.Equal(first, await ServeAsync(alpha));
        Assert.Equal(first, await ServeAsync(beta));
        Assert.Equal(first, await ServeAsync(third)); // three schemas: not yet worth a measure
        Assert.Equal(first, await ServeAsync(fourth)); // the fourth: measured when the session closes, over 1 MB, so it ends
        Assert.True(await EndsAsync(first), $"backend {first} outlived its budget");

        // The pool's one connection is a new backend that works at once: the ended one was not given back.
        var second = await ServeAsync(alpha);
        Assert.NotEqual(first, second);
        Assert.Equal(second, await ServeAsync(beta)); // a fresh budget
    }

    /// <summary>
    /// <c>platform.backend_memory_bytes()</c> tells the request role how much its own backend holds, and nobody else may
    /// call it. When the owner it runs as may not read memory contexts (build/sql/roles.sql not run again since), it
    /// answers null, and the budget decides on its estimate alone.
    /// </summary>
    [Fact]
    public async Task The_request_role_measures_its_own_backend_and_gets_nothing_when_the_owner_may_not_read_memory()
    {
        var alpha = (await Fixture.Service<TenantCatalog>().FindAsync(MonolithFixture.Alpha, CancellationToken.None))!;
        await using (var request = await Fixture.Service<PlatformDatabase>().RequestDataSource.OpenConnectionAsync())
        {
            var measured = await PlatformDatabase.BackendMemoryBytesAsync(request);
            Assert.NotNull(measured);
            Assert.InRange(measured.Value, 256 * 1024, 512L * 1024 * 1024);
        }

        await using var superuser = new NpgsqlConnection(Fixture.Connections.Superuser);
        await superuser.OpenAsync();
        await using var transaction = await superuser.BeginTransactionAsync();
        await using (var asTenant = new NpgsqlCommand($"SET LOCAL ROLE \"{alpha.RoleName}\"; SELECT platform.backend_memory_bytes()", superuser, transaction))
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => asTenant.ExecuteScalarAsync());
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        }

        await transaction.RollbackAsync();
        await using var revoked = await superuser.BeginTransactionAsync();
        await using (var revoke = new NpgsqlCommand(
            $"REVOKE EXECUTE ON FUNCTION pg_get_backend_memory_contexts() FROM {TestDatabase.OwnerRole}; SET LOCAL ROLE {TestDatabase.AppRole}", superuser, revoked))
        {
            await revoke.ExecuteNonQueryAsync();
        }

        Assert.Null(await PlatformDatabase.BackendMemoryBytesAsync(superuser));
        await revoked.RollbackAsync(); // the grant is back for every other test
    }

    /// <summary>
    /// The start-up check of the memory budget: silent when the request role can measure its backend, a warning that
    /// names the missing grant when it cannot (here a login with no privilege on the platform schema).
    /// </summary>
    [Fact]
    public async Task The_start_up_check_warns_when_the_request_role_cannot_measure_its_backend()
    {
        var measuring = new FakeLogger<BackendMemoryCheck>();
        await new BackendMemoryCheck(Fixture.Service<PlatformDatabase>(), measuring).StartAsync(CancellationToken.None);
        Assert.Empty(measuring.Collector.GetSnapshot());

        var login = "memory_probe_" + Guid.NewGuid().ToString("N")[..8];
        var password = Guid.NewGuid().ToString("N");
        await TestDatabase.ExecuteAsync(Fixture.Connections.Superuser, $"CREATE ROLE {login} LOGIN PASSWORD '{password}'");
        try
        {
            var connectionString = new NpgsqlConnectionStringBuilder(Fixture.Connections.App) { Username = login, Password = password, Pooling = false }.ConnectionString;
            await using var platform = new PlatformDatabase(connectionString, Fixture.Connections.Owner);
            var blind = new FakeLogger<BackendMemoryCheck>();
            await new BackendMemoryCheck(platform, blind).StartAsync(CancellationToken.None);

            var warning = Assert.Single(blind.Collector.GetSnapshot());
            Assert.Equal(LogLevel.Warning, warning.Level);
            Assert.Contains("pg_get_backend_memory_contexts", warning.Message, StringComparison.Ordinal);
            Assert.Contains("build/sql/roles.sql", warning.Message, StringComparison.Ordinal);

            var off = new FakeLogger<BackendMemoryCheck>();
            await using var unbounded = new PlatformDatabase(connectionString, Fixture.Connections.Owner, backendMemoryMegabytes: 0);
            await new BackendMemoryCheck(unbounded, off).StartAsync(CancellationToken.None);
            Assert.Empty(off.Collector.GetSnapshot()); // no budget, nothing to measure
        }
        finally
        {
            await TestDatabase.ExecuteAsync(Fixture.Connections.Superuser, $"DROP ROLE {login}");
        }
    }

    [Fact]
    public async Task Without_a_memory_budget_a_backend_serves_any_number_of_schemas()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(Fixture.Connections.App) { MaxPoolSize = 1 }.ConnectionString;
        await using var platform = new PlatformDatabase(connectionString, Fixture.Connections.Owner, requestPools: 1, backendMemoryMegabytes: 0);
        var catalog = Fixture.Service<TenantCatalog>();
        var tenants = new[] { MonolithFixture.Alpha, MonolithFixture.Beta, MonolithFixture.Alpha };
        var backends = new HashSet<int>();
        foreach (var identifier in tenants)
        {
            var tenant = (await catalog.FindAsync(identifier, CancellationToken.None))!;
            await using var connection = await platform.OpenTenantConnectionAsync(tenant.Id, ct: CancellationToken.None);
            await using var command = new NpgsqlCommand("SELECT pg_backend_pid()", connection);
            backends.Add((int)(await command.ExecuteScalarAsync())!);
            await platform.CloseTenantConnectionAsync(connection);
        }

        Assert.Equal(0, platform.BackendMemoryMegabytes);
        Assert.Single(backends);
    }

    [Fact]
    public void A_negative_memory_budget_is_refused_at_start()
    {
        var error = Assert.Throws<InvalidOperationException>(
            () => new PlatformDatabase(Fixture.Connections.App, Fixture.Connections.Owner, backendMemoryMegabytes: -1));
        Assert.Contains("Tenancy__BackendMemoryMegabytes", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Whether the backend <paramref name="processId"/> is gone within 10 s (an ending backend can still be listed for a moment).</summary>
    private async Task<bool> EndsAsync(int processId)
    {
        await using var connection = new NpgsqlConnection(Fixture.Connections.Superuser);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", connection);
        command.Parameters.AddWithValue(processId);
        var until = DateTime.UtcNow.AddSeconds(10);
        while ((long)(await command.ExecuteScalarAsync())! > 0)
        {
            if (DateTime.UtcNow > until)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    private async Task<long> BackendsOfAsync(string login)
    {
        await using var connection = new NpgsqlConnection(Fixture.Connections.Superuser);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE usename = $1", connection);
        command.Parameters.AddWithValue(login);
        return (long)(await command.ExecuteScalarAsync())!;
    }


    [Fact]
    public async Task The_number_of_sub_pools_is_configuration()
    {
        Assert.Equal(PlatformDatabase.DefaultRequestPools, Fixture.Service<PlatformDatabase>().RequestPools);
        await using var factory = new MonolithFactory(
            Fixture.Connections, new Dictionary<string, string?> { ["Tenancy:RequestPools"] = "2", ["Tenancy:BackendMemoryMegabytes"] = "7" });
        Assert.Equal(2, factory.Services.GetRequiredService<PlatformDatabase>().RequestPools);
        Assert.Equal(7, factory.Services.GetRequiredService<PlatformDatabase>().BackendMemoryMegabytes);
    }

    [Theory]
    [InlineData("Connection Lifetime=0;Connection Idle Lifetime=300", 0, 300)]
    [InlineData("ConnectionLifetime=45", 45, PlatformDatabase.DefaultConnectionIdleLifetimeSeconds)]
    [InlineData("connection idle lifetime=20", PlatformDatabase.DefaultConnectionLifetimeSeconds, 20)]
    public async Task A_recycling_setting_in_the_connection_string_wins_over_the_default(string options, int lifetime, int idleLifetime)
    {
        await using var database = new PlatformDatabase($"{Fixture.Connections.App};{options}", Fixture.Connections.Owner);
        var request = new NpgsqlConnectionStringBuilder(database.RequestConnectionString);

        Assert.Equal(lifetime, request.ConnectionLifetime);
        Assert.Equal(idleLifetime, request.ConnectionIdleLifetime);
    }

    [Theory]
    [InlineData("", PlatformDatabase.DefaultOwnerConnectionLifetimeSeconds, PlatformDatabase.DefaultOwnerConnectionLifetimeSeconds)]
    [InlineData(";Connection Lifetime=0;Connection Idle Lifetime=300", 0, 300)]
    [InlineData(";connectionidlelifetime=20", PlatformDatabase.DefaultOwnerConnectionLifetimeSeconds, 20)]
    public async Task The_owner_pool_and_DbUp_get_a_short_backend_life_unless_the_owner_connection_string_says(string options, int lifetime, int idleLifetime)
    {
        await using var database = new PlatformDatabase(Fixture.Connections.App, Fixture.Connections.Owner + options);

        foreach (var owner in new[] { database.ConnectionString, database.DataSource.ConnectionString })
        {
            var settings = new NpgsqlConnectionStringBuilder(owner);
            Assert.Equal(lifetime, settings.ConnectionLifetime);
            Assert.Equal(idleLifetime, settings.ConnectionIdleLifetime);
        }

        // The request pool keeps its own defaults (docs/adr/0064).
        Assert.Equal(PlatformDatabase.DefaultConnectionLifetimeSeconds, new NpgsqlConnectionStringBuilder(database.RequestConnectionString).ConnectionLifetime);
    }

    /// <summary>
    /// Npgsql's type loading reads <c>pg_type</c>, two rows per tenant table, on each data source's first connection; at
    /// 10,000 tenants that ran past the connect timeout (docs/adr/0070). In a database whose <c>pg_type</c> nobody may read,
    /// a data source that loads types cannot open; the host's pools open and serve, so they read no type.
    /// </summary>
    [Fact]
    public async Task The_request_and_owner_pools_open_without_reading_the_databases_types()
    {
        var name = "no_type_reading_" + Guid.NewGuid().ToString("N")[..8];
        await TestDatabase.ExecuteAsync(Fixture.Connections.Superuser, $"CREATE DATABASE {name}");
        try
        {
            await TestDatabase.ExecuteAsync(
                new NpgsqlConnectionStringBuilder(Fixture.Connections.Superuser) { Database = name, Pooling = false }.ConnectionString,
                "REVOKE SELECT ON pg_catalog.pg_type FROM PUBLIC");
            var request = new NpgsqlConnectionStringBuilder(Fixture.Connections.App) { Database = name }.ConnectionString;
            var owner = new NpgsqlConnectionStringBuilder(Fixture.Connections.Owner) { Database = name }.ConnectionString;

            await using (var loadsTypes = NpgsqlDataSource.Create(request))
            {
                var refused = await Assert.ThrowsAsync<PostgresException>(async () => await loadsTypes.OpenConnectionAsync());
                Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
            }

            await using var database = new PlatformDatabase(request, owner);
            foreach (var pool in database.RequestSubPools.Append(database.DataSource))
            {
                await using var connection = await pool.OpenConnectionAsync();
                await using var command = new NpgsqlCommand("SELECT now(), gen_random_uuid(), '{\"a\": 1}'::jsonb, 'x'::bytea, txid_current()::text::xid", connection);
                await using var reader = await command.ExecuteReaderAsync();
                Assert.True(await reader.ReadAsync());
                Assert.IsType<DateTime>(reader.GetValue(0));
                Assert.IsType<Guid>(reader.GetValue(1));
                Assert.Equal("{\"a\": 1}", reader.GetString(2));
                Assert.IsType<byte[]>(reader.GetValue(3));
                Assert.IsType<uint>(reader.GetValue(4)); // xmin, the concurrency token, is an xid
            }
        }
        finally
        {
            await TestDatabase.ExecuteAsync(Fixture.Connections.Superuser, $"DROP DATABASE {name} WITH (FORCE)");
        }
    }

    [Fact]
    public async Task An_owner_backend_older_than_its_lifetime_is_not_reused()
    {
        await using var database = new PlatformDatabase(Fixture.Connections.App, Fixture.Connections.Owner + ";Connection Lifetime=1");
        int first;
        await using (var connection = await database.OpenConnectionAsync())
        {
            first = connection.ProcessID;
        }

        await using (var again = await database.OpenConnectionAsync())
        {
            Assert.Equal(first, again.ProcessID); // young: back from the pool
            await Task.Delay(TimeSpan.FromSeconds(1.5));
        }

        await using var after = await database.OpenConnectionAsync();
        Assert.NotEqual(first, after.ProcessID);
    }

    [Theory]
    [InlineData(100, 4, 3)]
    [InlineData(10, 4, 0)]
    [InlineData(7, 3, 2)]
    [InlineData(3, 8, 1)]
    [InlineData(50, 1, 0)]
    public async Task The_sub_pools_share_the_configured_pool_size_between_them(int poolSize, int pools, int minimum)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(Fixture.Connections.App) { MaxPoolSize = poolSize, MinPoolSize = minimum }.ConnectionString;
        await using var database = new PlatformDatabase(connectionString, Fixture.Connections.Owner, requestPools: pools);
        var shares = database.RequestSubPools.Select(pool => new NpgsqlConnectionStringBuilder(pool.ConnectionString)).ToList();

        Assert.Equal(Math.Min(pools, poolSize), database.RequestPools); // never a sub-pool without a connection
        Assert.Equal(poolSize, shares.Sum(share => share.MaxPoolSize));
        Assert.Equal(minimum, shares.Sum(share => share.MinPoolSize));
        Assert.Equal(poolSize, database.RequestPoolSize);
        Assert.InRange(shares.Max(share => share.MaxPoolSize) - shares.Min(share => share.MaxPoolSize), 0, 1);
    }

    [Fact]
    public void Fewer_than_one_sub_pool_is_refused_at_start()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new PlatformDatabase(Fixture.Connections.App, Fixture.Connections.Owner, requestPools: 0));
        Assert.Contains("Tenancy__RequestPools", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Behind_a_transaction_pooler_there_is_one_sub_pool_and_no_recycling_default_unless_configured()
    {
        var pooled = new NpgsqlConnectionStringBuilder(Fixture.Connections.App) { NoResetOnClose = true }.ConnectionString;
        await using var database = new PlatformDatabase(pooled, Fixture.Connections.Owner, transactionPooling: true);
        var request = new NpgsqlConnectionStringBuilder(database.RequestConnectionString);

        Assert.Equal(1, database.RequestPools);
        Assert.Equal(0, database.BackendMemoryMegabytes); // the pooler's server_lifetime recycles: a host connection is no backend of its own
        var npgsqlDefaults = new NpgsqlConnectionStringBuilder();
        Assert.Equal(npgsqlDefaults.ConnectionLifetime, request.ConnectionLifetime); // the pooler's server_lifetime recycles the backends
        Assert.Equal(npgsqlDefaults.ConnectionIdleLifetime, request.ConnectionIdleLifetime);
        Assert.Equal(0, request.MaxAutoPrepare);
        Assert.True(request.NoResetOnClose);

        await using var configured = new PlatformDatabase(pooled, Fixture.Connections.Owner, transactionPooling: true, requestPools: 2, backendMemoryMegabytes: 5);
        Assert.Equal(2, configured.RequestPools);
        Assert.Equal(0, configured.BackendMemoryMegabytes);
    }

    [Fact]
    public void A_tenant_is_hashed_to_the_same_sub_pool_every_time_and_a_new_sub_pool_takes_tenants_only_for_itself()
    {
        var ids = Enumerable.Range(0, 4000).Select(_ => Guid.CreateVersion7()).ToList();
        foreach (var id in ids)
        {
            Assert.Equal(PlatformDatabase.SubPoolOf(id, 4), PlatformDatabase.SubPoolOf(id, 4));
            var (before, after) = (PlatformDatabase.SubPoolOf(id, 4), PlatformDatabase.SubPoolOf(id, 5));
            Assert.True(after == before || after == 4, $"{id} moved from sub-pool {before} to {after}"); // consistent hashing
            Assert.Equal(0, PlatformDatabase.SubPoolOf(id, 1));
        }

        // Spread: UUIDv7s made in the same millisecond share their head; every sub-pool still gets a fair share.
        var counts = ids.GroupBy(id => PlatformDatabase.SubPoolOf(id, 4)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(4, counts.Count);
        Assert.All(counts.Values, count => Assert.InRange(count, 700, 1300));
    }

    [Fact]
    public async Task Two_tenants_of_different_sub_pools_are_served_by_different_backends_and_each_keeps_its_own()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(Fixture.Connections.App) { MaxPoolSize = 2 }.ConnectionString;
        await using var platform = new PlatformDatabase(connectionString, Fixture.Connections.Owner, requestPools: 2);
        var (first, second) = await TwoTenantsOfDifferentSubPoolsAsync(platform);
        var context = Fixture.Service<TenantContext>();
        var database = new TenantDatabase(new TenantServers(platform), context, new TenantBounds(Options.Create(new TenancyOptions()), platform));

        var backends = new Dictionary<Guid, HashSet<int>> { [first.Id] = [], [second.Id] = [] };
        for (var i = 0; i < 6; i++)
        {
            var tenant = i % 2 == 0 ? first : second;
            using var scope = context.Enter(tenant);
            await using var session = await database.BeginAsync();
            await using var command = session.Command("SELECT pg_backend_pid(), current_schema()");
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            backends[tenant.Id].Add(reader.GetInt32(0));
            Assert.Equal(tenant.SchemaName, reader.GetString(1));
        }

        Assert.Single(backends[first.Id]);
        Assert.Single(backends[second.Id]);
        Assert.NotEqual(backends[first.Id].Single(), backends[second.Id].Single());

        // Each sub-pool holds one connection: one tenant holding its own does not keep the other from its.
        using (context.Enter(first))
        {
            await using var held = await database.BeginAsync();
            using var other = context.Enter(second);
            await using var session = await database.BeginAsync();
            await using var command = session.Command("SELECT pg_backend_pid()");
            Assert.Equal(backends[second.Id].Single(), (int)(await command.ExecuteScalarAsync())!);
        }
    }

    [Fact]
    public async Task A_tenant_whose_sub_pool_is_taken_is_served_by_another_instead_of_waiting()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(Fixture.Connections.App) { MaxPoolSize = 2, Timeout = 60 }.ConnectionString;
        await using var platform = new PlatformDatabase(connectionString, Fixture.Connections.Owner, requestPools: 2);
        var (busy, neighbour) = await TwoTenantsOfDifferentSubPoolsAsync(platform);
        var context = Fixture.Service<TenantContext>();
        var database = new TenantDatabase(new TenantServers(platform), context, new TenantBounds(Options.Create(new TenancyOptions()), platform));
        var home = PlatformDatabase.SubPoolOf(busy.Id, 2);

        using (context.Enter(busy))
        {
            await using var first = await database.BeginAsync();
            Assert.Equal(1 - home, platform.SubPoolFor(busy.Id)); // its own sub-pool's one connection is taken
            await using var second = await database.BeginAsync(); // would wait for the first without the spill
            await using var command = second.Command("SELECT current_schema() || '/' || current_user");
            Assert.Equal($"{busy.SchemaName}/{busy.RoleName}", await command.ExecuteScalarAsync());
            Assert.NotEqual(first.Connection.ProcessID, second.Connection.ProcessID);
        }

        // Both connections are back: each tenant is served by its own sub-pool again.
        Assert.Equal(home, platform.SubPoolFor(busy.Id));
        Assert.Equal(1 - home, platform.SubPoolFor(neighbour.Id));
    }

    private async Task<(TenantInfo First, TenantInfo Second)> TwoTenantsOfDifferentSubPoolsAsync(PlatformDatabase platform)
    {
        var tenants = new List<TenantInfo>();
        for (var i = 0; i < 20; i++)
        {
            var identifier = $"affinity-{i:D2}";
            var tenant = await Fixture.Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None) ?? await Fixture.ProvisionAsync(identifier);
            var other = tenants.FirstOrDefault(t => PlatformDatabase.SubPoolOf(t.Id, platform.RequestPools) != PlatformDatabase.SubPoolOf(tenant.Id, platform.RequestPools));
            if (other is not null)
            {
                return (other, tenant);
            }

            tenants.Add(tenant);
        }

        throw new InvalidOperationException("20 tenants all hashed to one sub-pool of two");
    }
}
