using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Monolith.Tenancy;
using Monolith.Tenancy.Bounds;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Placement;
using Monolith.Tenancy.Provisioning;
using Monolith.Tests.Auditing;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// Each request sub-pool logs in as a role of its own, a member of its own tenants' roles only (docs/adr/0073): what such
/// a login may do, that every tenant role is granted to exactly its login, and what the host does when a grant or a login
/// is missing.
/// </summary>
[Trait("Category", Categories.Security)]
public sealed class RequestLoginsTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task Each_sub_pools_login_is_as_bare_as_the_request_role_and_can_become_its_own_tenants_roles_only()
    {
        var database = Fixture.Service<PlatformDatabase>();
        Assert.Equal(database.RequestPools, database.RequestLogins.Count);
        Assert.Null(database.RequestLoginsRefused);
        var (mine, other) = await TwoTenantsOfDifferentSubPoolsAsync(database.RequestPools);
        var login = database.RequestLogins[PlatformDatabase.SubPoolOf(mine.Id, database.RequestPools)];

        foreach (var each in database.RequestLogins)
        {
            Assert.Equal("login noinherit", await Fixture.SuperuserScalarAsync<string>(
                """
                SELECT concat_ws(' ', CASE WHEN rolcanlogin THEN 'login' END, CASE WHEN NOT rolinherit THEN 'noinherit' END,
                                 CASE WHEN rolsuper THEN 'superuser' END, CASE WHEN rolcreaterole THEN 'createrole' END,
                                 CASE WHEN rolcreatedb THEN 'createdb' END, CASE WHEN rolreplication THEN 'replication' END,
                                 CASE WHEN rolbypassrls THEN 'bypassrls' END,
                                 CASE WHEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspowner = r.oid) OR EXISTS (SELECT 1 FROM pg_class WHERE relowner = r.oid)
                                           OR EXISTS (SELECT 1 FROM pg_proc WHERE proowner = r.oid) THEN 'owns' END)
                FROM pg_roles r WHERE rolname = $1
                """, each));
        }

        // By construction: every tenant role of this server is granted to exactly one login of the set, its sub-pool's.
        var memberships = new List<(Guid Id, string[] Logins)>();
        await using (var connection = new NpgsqlConnection(Fixture.Connections.Superuser))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                """
                SELECT t.id, ARRAY(SELECT l.rolname::text FROM pg_auth_members m JOIN pg_roles l ON l.oid = m.member
                                   WHERE m.roleid = r.oid AND l.rolname = ANY($1) ORDER BY 1)
                FROM platform.tenants t JOIN pg_roles r ON r.rolname = t.role_name
                """, connection);
            command.Parameters.AddWithValue(database.RequestLogins.ToArray());
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                memberships.Add((reader.GetGuid(0), reader.GetFieldValue<string[]>(1)));
            }
        }

        Assert.True(memberships.Count >= 2);
        Assert.All(memberships, tenant => Assert.Equal([database.RequestLogins[PlatformDatabase.SubPoolOf(tenant.Id, database.RequestPools)]], tenant.Logins));

        var asLogin = new NpgsqlConnectionStringBuilder(Fixture.Connections.App) { Username = login, Pooling = false }.ConnectionString;
        Assert.Null(await ErrorOfAsync(asLogin, $"SET LOCAL ROLE \"{mine.RoleName}\"; SELECT count(*) FROM \"{mine.SchemaName}\".customers"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, await ErrorOfAsync(asLogin, $"SET LOCAL ROLE \"{other.RoleName}\""));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, await ErrorOfAsync(asLogin, $"SELECT count(*) FROM \"{mine.SchemaName}\".customers"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, await ErrorOfAsync(asLogin, "SELECT count(*) FROM platform.tenants"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, await ErrorOfAsync(asLogin, "SELECT count(*) FROM platform.request_logins"));
    }

    [Fact]
    public async Task A_tenant_whose_login_lacks_its_grant_is_served_as_the_request_role_until_the_platform_scripts_grant_it_again()
    {
        var database = Fixture.Service<PlatformDatabase>();
        var tenant = await Fixture.ProvisionAsync(MonolithFixture.UniqueIdentifier("regrant"));
        var login = database.RequestLogins[PlatformDatabase.SubPoolOf(tenant.Id, database.RequestPools)];
        var granted = $"SELECT count(*) FROM pg_auth_members WHERE roleid = '\"{tenant.RoleName}\"'::regrole AND member = '\"{login}\"'::regrole";
        Assert.Equal(1L, await Fixture.SuperuserScalarAsync<long>(granted));
        Assert.Equal(login, await SessionUserAsync(tenant));

        await TestDatabase.ExecuteAsync(Fixture.Connections.Superuser, $"REVOKE \"{tenant.RoleName}\" FROM \"{login}\"");
        Assert.Equal(TestDatabase.AppRole, await SessionUserAsync(tenant));

        Fixture.Service<TenantMigrator>().MigratePlatform();
        Assert.Equal(1L, await Fixture.SuperuserScalarAsync<long>(granted));
        Assert.Equal(login, await SessionUserAsync(tenant));
    }

    [Fact]
    public async Task A_session_that_spills_over_is_served_by_the_request_roles_own_pool()
    {
        // 10 connections in five shares of 2: four sub-pools of their own logins and the request role's pool.
        var connectionString = new NpgsqlConnectionStringBuilder(Fixture.Connections.App) { MaxPoolSize = 10, Timeout = 60 }.ConnectionString;
        await using var platform = new PlatformDatabase(connectionString, Fixture.Connections.Owner, requestPools: 4, requestLogins: true);
        var tenant = (await Fixture.Service<TenantCatalog>().FindAsync(MonolithFixture.Alpha, CancellationToken.None))!;
        var login = platform.RequestLogins[PlatformDatabase.SubPoolOf(tenant.Id, 4)];
        var context = Fixture.Service<TenantContext>();
        var database = new TenantDatabase(new TenantServers(platform), context, new TenantBounds(Options.Create(new TenancyOptions()), platform));

        using var scope = context.Enter(tenant);
        await using var first = await database.BeginAsync();
        await using var second = await database.BeginAsync();
        Assert.Equal(4, platform.SubPoolFor(tenant.Id)); // its own sub-pool's two connections are taken
        await using var spilled = await database.BeginAsync();
        Assert.Equal($"{login}/{tenant.RoleName}", await ScalarAsync(first, "SELECT session_user || '/' || current_user"));
        Assert.Equal($"{login}/{tenant.RoleName}", await ScalarAsync(second, "SELECT session_user || '/' || current_user"));
        Assert.Equal($"{TestDatabase.AppRole}/{tenant.RoleName}", await ScalarAsync(spilled, "SELECT session_user || '/' || current_user"));
        Assert.Null(platform.RequestLoginsRefused);
    }

    [Fact]
    public async Task Logins_the_server_refuses_leave_every_tenant_served_through_the_request_role()
    {
        // No host here splits the pool in three: those logins were never made.
        var logger = new FakeLogger<PlatformDatabase>();
        await using var platform = new PlatformDatabase(Fixture.Connections.App, Fixture.Connections.Owner, requestPools: 3, requestLogins: true, logger: logger);
        Assert.Equal(3, platform.RequestLogins.Count);
        var tenant = (await Fixture.Service<TenantCatalog>().FindAsync(MonolithFixture.Alpha, CancellationToken.None))!;
        var context = Fixture.Service<TenantContext>();
        var database = new TenantDatabase(new TenantServers(platform), context, new TenantBounds(Options.Create(new TenancyOptions()), platform));

        using var scope = context.Enter(tenant);
        await using (var session = await database.BeginAsync())
        {
            Assert.Equal($"{TestDatabase.AppRole}/{tenant.RoleName}", await ScalarAsync(session, "SELECT session_user || '/' || current_user"));
        }

        Assert.Contains(platform.RequestLogins[PlatformDatabase.SubPoolOf(tenant.Id, 3)], platform.RequestLoginsRefused, StringComparison.Ordinal);
        Assert.Contains("28000", platform.RequestLoginsRefused, StringComparison.Ordinal);
        var warning = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains(platform.RequestLoginsRefused!, warning.Message, StringComparison.Ordinal);
        Assert.Contains("Tenancy__RequestLogins=false", warning.Message, StringComparison.Ordinal);

        // Every later session goes as the request role without asking the refused login again, and says nothing more.
        for (var i = 0; i < 3; i++)
        {
            await using var again = await database.BeginAsync();
            Assert.Equal($"{TestDatabase.AppRole}/{tenant.RoleName}", await ScalarAsync(again, "SELECT session_user || '/' || current_user"));
        }

        Assert.Single(logger.Collector.GetSnapshot());
    }

    [Fact]
    public void Without_a_separate_owner_or_under_a_transaction_pooler_the_sub_pools_log_in_as_the_request_role()
    {
        Assert.Empty(new PlatformDatabase(Fixture.Connections.App, null, requestLogins: true).RequestLogins);
        Assert.Empty(new PlatformDatabase(Fixture.Connections.App, Fixture.Connections.Owner, requestPools: 1, requestLogins: true).RequestLogins);
        Assert.Empty(new PlatformDatabase(Fixture.Connections.App, Fixture.Connections.Owner, requestLogins: false).RequestLogins);
        var pooled = new NpgsqlConnectionStringBuilder(Fixture.Connections.App) { NoResetOnClose = true }.ConnectionString;
        Assert.Empty(new PlatformDatabase(pooled, Fixture.Connections.Owner, transactionPooling: true, requestPools: 4, requestLogins: true).RequestLogins);
        Assert.Empty(RequestLogins.NamesFor(new string('r', 60), 4)); // a name past PostgreSQL's 63 bytes
    }

    private async Task<string> SessionUserAsync(TenantInfo tenant)
    {
        using var scope = Fixture.Service<TenantContext>().Enter(tenant);
        await using var session = await Fixture.Service<TenantDatabase>().BeginAsync();
        return await ScalarAsync(session, "SELECT session_user::text");
    }

    private static async Task<string> ScalarAsync(TenantConnection session, string sql)
    {
        await using var command = session.Command(sql);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The SQLSTATE <paramref name="sql"/> fails with in a transaction of its own; null when it succeeds.</summary>
    private static async Task<string?> ErrorOfAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        try
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            await command.ExecuteNonQueryAsync();
            return null;
        }
        catch (PostgresException e)
        {
            return e.SqlState;
        }
    }

    private async Task<(TenantInfo Mine, TenantInfo Other)> TwoTenantsOfDifferentSubPoolsAsync(int pools)
    {
        var tenants = new List<TenantInfo>();
        for (var i = 0; i < 20; i++)
        {
            var identifier = $"logins-{i:D2}";
            var tenant = await Fixture.Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None) ?? await Fixture.ProvisionAsync(identifier);
            if (tenants.FirstOrDefault(t => PlatformDatabase.SubPoolOf(t.Id, pools) != PlatformDatabase.SubPoolOf(tenant.Id, pools)) is { } other)
            {
                return (tenant, other);
            }

            tenants.Add(tenant);
        }

        throw new InvalidOperationException("20 tenants in one sub-pool");
    }
}
