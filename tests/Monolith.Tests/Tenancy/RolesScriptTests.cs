using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// build/sql/roles.sql, which ./build/run.sh runs at every start and operators run again after an upgrade: a database
/// made before the two roles is handed to the owner role, object by object, and the owner gets what the host expects of
/// it (docs/adr/0005, 0071), and the request sub-pools' logins take the app role's password (0073).
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class RolesScriptTests
{
    [Fact]
    public async Task Run_again_it_hands_a_superusers_schema_to_the_owner_and_grants_the_owner_its_memory_measure()
    {
        var server = await TestDatabase.Shared;
        var connections = await server.CreateDatabaseAsync("monolith_roles");
        var name = new NpgsqlConnectionStringBuilder(connections.Superuser).Database!;
        await TestDatabase.ExecuteAsync(connections.Superuser, """
            CREATE SCHEMA legacy;
            CREATE TABLE legacy.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text);
            CREATE SEQUENCE legacy.invoice_numbers;
            CREATE VIEW legacy.open_orders AS SELECT id FROM legacy.orders;
            CREATE FUNCTION legacy.answer() RETURNS integer LANGUAGE sql AS 'SELECT 42';
            REVOKE EXECUTE ON FUNCTION pg_get_backend_memory_contexts() FROM monolith_owner;
            """);

        await server.RunRolesScriptAsync(name);
        await server.RunRolesScriptAsync(name); // idempotent

        await using var connection = new NpgsqlConnection(connections.Superuser);
        await connection.OpenAsync();
        await using var owners = new NpgsqlCommand("""
            SELECT 'schema', pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = 'legacy'
            UNION ALL
            SELECT c.relkind::text || ':' || c.relname, pg_get_userbyid(c.relowner)::text
              FROM pg_class c WHERE c.relnamespace = 'legacy'::regnamespace AND c.relkind IN ('r', 'S', 'v')
            UNION ALL
            SELECT 'function', pg_get_userbyid(proowner)::text FROM pg_proc WHERE oid = 'legacy.answer()'::regprocedure
            ORDER BY 1
            """, connection);
        var found = new List<string>();
        await using (var reader = await owners.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                found.Add($"{reader.GetString(0)}={reader.GetString(1)}");
            }
        }

        Assert.Equal(
            [
                "S:invoice_numbers=monolith_owner", "S:orders_id_seq=monolith_owner", "function=monolith_owner", "r:orders=monolith_owner",
                "schema=monolith_owner", "v:open_orders=monolith_owner",
            ],
            found);
        await using var grant = new NpgsqlCommand(
            "SELECT has_function_privilege('monolith_owner', 'pg_get_backend_memory_contexts()', 'EXECUTE')", connection);
        Assert.True((bool)(await grant.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Run_again_it_gives_the_request_sub_pools_logins_the_app_roles_new_password()
    {
        var server = await TestDatabase.Shared;
        var connections = await server.CreateDatabaseAsync("monolith_roles");
        var name = new NpgsqlConnectionStringBuilder(connections.Superuser).Database!;
        var login = "monolith_app_pool0_of2_" + Guid.NewGuid().ToString("N")[..8];
        await TestDatabase.ExecuteAsync(connections.Superuser, $"""
            CREATE ROLE {login} LOGIN NOINHERIT PASSWORD 'the-old-one';
            CREATE SCHEMA platform;
            CREATE TABLE platform.request_logins (role_name name PRIMARY KEY, pools integer NOT NULL, sub_pool integer NOT NULL);
            INSERT INTO platform.request_logins VALUES ('{login}', 2, 0);
            """);
        try
        {
            await server.RunRolesScriptAsync(name);

            var app = new NpgsqlConnectionStringBuilder(connections.App).Password!;
            var verifier = await ScalarAsync(connections.Superuser, $"SELECT rolpassword FROM pg_authid WHERE rolname = '{login}'");
            Assert.True(ScramVerifierTests.Verifies(verifier, app));
            Assert.False(ScramVerifierTests.Verifies(verifier, "the-old-one"));
        }
        finally
        {
            await TestDatabase.ExecuteAsync(connections.Superuser, $"DROP ROLE {login}");
        }
    }

    private static async Task<string> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
