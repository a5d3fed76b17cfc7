using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// CONTRACT §8 "Least privilege": the host serves requests as a role that is no superuser, owns nothing and holds no
/// privilege itself; a statement that leaves the tenant's role reaches no tenant's data and can change nothing.
/// </summary>
[Trait("Category", Categories.Security)]
public sealed class LeastPrivilegeTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task The_request_role_is_no_superuser_creates_nothing_inherits_nothing_and_owns_no_schema()
    {
        await using var connection = new NpgsqlConnection(Fixture.Connections.App);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolinherit,
                   (SELECT count(*) FROM pg_namespace n WHERE n.nspowner = r.oid),
                   (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid)
            FROM pg_roles r WHERE r.rolname = current_user
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.False(reader.GetBoolean(0), "superuser");
        Assert.False(reader.GetBoolean(1), "createrole");
        Assert.False(reader.GetBoolean(2), "createdb");
        Assert.False(reader.GetBoolean(3), "inherits its tenant roles' privileges");
        Assert.Equal(0L, reader.GetInt64(4));
        Assert.Equal(0L, reader.GetInt64(5));
    }

    [Theory]
    [InlineData("RESET ROLE")]
    [InlineData("SET ROLE NONE")]
    [InlineData("SET LOCAL ROLE NONE")]
    public async Task A_statement_that_leaves_the_tenant_role_reaches_no_tenant_data_and_changes_nothing(string leave)
    {
        var alpha = await TenantAsync(MonolithFixture.Alpha);
        var beta = await TenantAsync(MonolithFixture.Beta);
        foreach (var sql in new[]
                 {
                     $"SELECT count(*) FROM \"{alpha.SchemaName}\".users",
                     $"SELECT count(*) FROM \"{beta.SchemaName}\".customers",
                     $"SELECT count(*) FROM \"{beta.SchemaName}\".audit_events",
                     $"INSERT INTO \"{alpha.SchemaName}\".tenant_settings (key, value) VALUES ('x', '1')",
                     $"CREATE TABLE \"{alpha.SchemaName}\".sneaky (id int)",
                     $"DROP TABLE \"{beta.SchemaName}\".customers",
                     "UPDATE platform.tenants SET status = 'suspended'",
                     "DELETE FROM platform.tenants",
                     "CREATE TABLE public.sneaky (id int)",
                     "CREATE SCHEMA sneaky",
                     "CREATE TEMP TABLE sneaky (id int)",
                     "CREATE ROLE sneaky",
                     "SELECT count(*) FROM logs.events",
                     "SELECT count(*) FROM hangfire.job",
                 })
        {
            var error = await RunAsTenantAsync(alpha, $"{leave}; {sql}");
            Assert.True(error?.SqlState is PostgresErrorCodes.InsufficientPrivilege, $"'{leave}; {sql}' was not refused: {error?.SqlState ?? "it ran"}");
        }
    }

    [Fact]
    public async Task The_tenant_role_cannot_create_temporary_tables_or_objects_anywhere()
    {
        var alpha = await TenantAsync(MonolithFixture.Alpha);
        foreach (var sql in new[]
                 {
                     "CREATE TEMP TABLE sneaky (id int)",
                     $"CREATE TABLE \"{alpha.SchemaName}\".sneaky (id int)",
                     $"CREATE FUNCTION \"{alpha.SchemaName}\".sneaky() RETURNS int LANGUAGE sql AS 'SELECT 1'",
                     "CREATE TABLE public.sneaky (id int)",
                     "CREATE SCHEMA sneaky",
                     "SELECT count(*) FROM platform.tenants",
                 })
        {
            var error = await RunAsTenantAsync(alpha, sql);
            Assert.True(error?.SqlState is PostgresErrorCodes.InsufficientPrivilege, $"'{sql}' was not refused: {error?.SqlState ?? "it ran"}");
        }
    }

    [Fact]
    public async Task The_tenant_role_reads_its_trail_but_cannot_write_a_record_itself()
    {
        var alpha = await TenantAsync(MonolithFixture.Alpha);
        var forged = await RunAsTenantAsync(alpha,
            "INSERT INTO audit_events (action, entity_type, entity_id, actor_kind, changes) VALUES ('create', 'customer', 'forged', 'user', '{}')");
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, forged?.SqlState);

        // Its own changes are still recorded, by the trigger running with its owner's rights, and it can read them.
        Assert.Null(await RunAsTenantAsync(alpha, "INSERT INTO tenant_settings (key, value) VALUES ('trail-probe', '1')", commit: true));
        Assert.Null(await RunAsTenantAsync(alpha, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM audit_events WHERE entity_id = 'trail-probe') THEN RAISE EXCEPTION 'not recorded'; END IF; END $$"));
    }

    [Fact]
    public async Task Every_tenant_unit_of_work_runs_as_its_tenant_role_and_the_settings_end_with_the_transaction()
    {
        var alpha = await TenantAsync(MonolithFixture.Alpha);
        using var scope = Fixture.Service<TenantContext>().Enter(alpha);
        await using (var session = await Fixture.Service<TenantDatabase>().BeginAsync())
        {
            await using var inside = session.Command("SELECT current_user, current_schema(), session_user");
            await using var reader = await inside.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(alpha.RoleName, reader.GetString(0));
            Assert.Equal(alpha.SchemaName, reader.GetString(1));
            // The session is its sub-pool's own login (docs/adr/0073), never the owner.
            var database = Fixture.Service<Monolith.Tenancy.PlatformDatabase>();
            Assert.Equal(database.RequestLogins[Monolith.Tenancy.PlatformDatabase.SubPoolOf(alpha.Id, database.RequestPools)], reader.GetString(2));
        }

        // A pooled connection taken again without a tenant binding is the bare request role again.
        await using var bare = await Fixture.Service<Monolith.Tenancy.PlatformDatabase>().RequestDataSource.OpenConnectionAsync();
        await using var after = new NpgsqlCommand("SELECT current_user, current_setting('search_path'), current_setting('statement_timeout')", bare);
        await using var again = await after.ExecuteReaderAsync();
        Assert.True(await again.ReadAsync());
        Assert.Equal(TestDatabase.AppRole, again.GetString(0));
        Assert.DoesNotContain(alpha.SchemaName, again.GetString(1), StringComparison.Ordinal);
        Assert.Equal("0", again.GetString(2));
    }

    [Fact]
    public void A_superuser_request_role_stops_the_host_in_production_with_a_message_naming_the_setting()
    {
        // Trust authentication ignores the password; a long one keeps the secret checks out of the way of this one.
        var password = "x" + Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N");
        var superuser = new NpgsqlConnectionStringBuilder(Fixture.ConnectionString) { Password = password }.ConnectionString;
        using var factory = new MonolithFactory(Fixture.Connections with { App = superuser }, new Dictionary<string, string?>
        {
            ["Platform:ApiKey"] = "p" + Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N"),
            ["Auth:SigningKey"] = "s" + Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N"),
            ["ConnectionStrings:MonolithOwner"] = new NpgsqlConnectionStringBuilder(Fixture.Connections.Owner).ConnectionString,
        }, environment: "Production");

        var error = Assert.ThrowsAny<Exception>(() => factory.Server);
        var message = error.GetBaseException().Message;
        Assert.Contains("ConnectionStrings__Monolith", message, StringComparison.Ordinal);
        Assert.Contains("superuser", message, StringComparison.Ordinal);
        Assert.DoesNotContain(password, message, StringComparison.Ordinal);
    }

    private async Task<PostgresException?> RunAsTenantAsync(TenantInfo tenant, string sql, bool commit = false)
    {
        using var scope = Fixture.Service<TenantContext>().Enter(tenant);
        await using var session = await Fixture.Service<TenantDatabase>().BeginAsync();
        await using var command = session.Command(sql);
        try
        {
            await command.ExecuteNonQueryAsync();
            if (commit)
            {
                await session.CommitAsync(CancellationToken.None);
            }

            return null;
        }
        catch (PostgresException e)
        {
            return e;
        }
    }

    private async Task<TenantInfo> TenantAsync(string identifier) =>
        (await Fixture.Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None))!;
}
