using System.Text.RegularExpressions;
using Monolith.Migrations;
using Monolith.Tenancy.Catalog;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// A tenant schema stays movable as a unit: to another server (logical replication of the schema, or a backup and its
/// restore) and, the day a deployment outgrows our own placement, into a Citus distributed schema (docs/adr/0063).
/// Both need the schema to stand on its own: its objects depend only on themselves, on the shared functions in
/// <c>monolith</c> (created on every server by the platform scripts) and on PostgreSQL itself; no foreign key leaves
/// it; every table has a primary key (what logical replication identifies an updated or deleted row by). The tenant
/// scripts name no other schema, except where listed with the reason and what a move or Citus does about it.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed partial class SchemaPortabilityTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    /// <summary>Schemas a tenant script may name: the shared functions (and the settings named after them) and PostgreSQL's.</summary>
    private static readonly HashSet<string> SharedSchemas = new(StringComparer.Ordinal) { "monolith", "pg_catalog" };

    /// <summary>Where a tenant script names another schema, and why (docs/adr/0063 says what each means for a move and for Citus).</summary>
    private static readonly (string Script, string Schema, string Reason)[] Exceptions =
    [
        ("0021_toggle_schedule_due.sql", "platform",
            "fills platform.toggle_schedule_due for schedules written before the trigger (once, when the script runs)"),
        ("0031_mail_outbox_due.sql", "platform", "fills platform.mail_due for mails queued before the trigger (once)"),
        ("0002_audit_trail.sql", "event", "not a schema: a plpgsql record variable (SELECT … INTO event.prev_hash)"),
    ];

    [Fact]
    public void Tenant_scripts_name_no_schema_but_their_own_and_the_shared_ones()
    {
        var offenders = MigrationScripts.Tenant.Scripts
            .SelectMany(script => SchemasNamedIn(script.Contents)
                .Where(schema => !SharedSchemas.Contains(schema) && !Exceptions.Any(e => e.Script == script.Name && e.Schema == schema))
                .Select(schema => $"{script.Name} names schema {schema}"))
            .ToList();

        Assert.True(offenders.Count == 0, string.Join("; ", offenders));
        Assert.All(Exceptions, e => Assert.Contains(e.Schema, SchemasNamedIn(MigrationScripts.Tenant.Scripts.Single(s => s.Name == e.Script).Contents)));
    }

    [Fact]
    public void The_script_scan_sees_a_qualified_name_after_the_words_that_name_objects()
    {
        const string script = """
            -- FROM other.customers in a comment is no reference
            INSERT INTO platform.mail_due (tenant_id) SELECT t.id FROM platform.tenants t WHERE t.schema_name = 'x';
            CREATE TRIGGER a AFTER INSERT ON customers FOR EACH ROW EXECUTE FUNCTION monolith.audit_row_change('customer', 'id');
            ALTER TABLE projects ADD FOREIGN KEY (customer_id) REFERENCES alpha.customers (id);
            SELECT current_setting('monolith.actor_id', true);
            """;

        Assert.Equal(["alpha", "monolith", "platform"], SchemasNamedIn(script).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_tenant_schema_depends_only_on_itself_the_shared_functions_and_postgresql()
    {
        await using var connection = await SuperuserAsync();
        var schema = await SchemaOfAsync(MonolithFixture.Alpha);
        // Every dependency recorded for an object of the schema (tables, columns, indexes, constraints, triggers,
        // sequences, defaults, types) on an object outside it; extensions' operator classes are named by extension.
        var outside = await ListAsync(connection,
            """
            WITH mine AS (
                SELECT 'pg_class'::regclass AS classid, c.oid AS objid FROM pg_class c WHERE c.relnamespace = to_regnamespace($1)
                UNION ALL SELECT 'pg_type'::regclass, t.oid FROM pg_type t WHERE t.typnamespace = to_regnamespace($1)
                UNION ALL SELECT 'pg_constraint'::regclass, k.oid FROM pg_constraint k WHERE k.connamespace = to_regnamespace($1)
                UNION ALL SELECT 'pg_trigger'::regclass, g.oid FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid WHERE c.relnamespace = to_regnamespace($1)
                UNION ALL SELECT 'pg_attrdef'::regclass, d.oid FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid WHERE c.relnamespace = to_regnamespace($1)
            ),
            target AS (
                SELECT pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) AS what,
                       CASE d.refclassid
                           WHEN 'pg_class'::regclass THEN (SELECT relnamespace FROM pg_class WHERE oid = d.refobjid)
                           WHEN 'pg_proc'::regclass THEN (SELECT pronamespace FROM pg_proc WHERE oid = d.refobjid)
                           WHEN 'pg_type'::regclass THEN (SELECT typnamespace FROM pg_type WHERE oid = d.refobjid)
                           WHEN 'pg_opclass'::regclass THEN (SELECT opcnamespace FROM pg_opclass WHERE oid = d.refobjid)
                           WHEN 'pg_collation'::regclass THEN (SELECT collnamespace FROM pg_collation WHERE oid = d.refobjid)
                           WHEN 'pg_operator'::regclass THEN (SELECT oprnamespace FROM pg_operator WHERE oid = d.refobjid)
                       END AS namespace,
                       d.refclassid = 'pg_opclass'::regclass
                           AND EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = 'pg_opclass'::regclass AND x.objid = d.refobjid
                                       AND x.refclassid = 'pg_extension'::regclass) AS of_an_extension
                FROM pg_depend d JOIN mine m ON m.classid = d.classid AND m.objid = d.objid
                WHERE d.deptype IN ('n', 'a')
            )
            SELECT DISTINCT what || ' (' || namespace::regnamespace || ')' FROM target
            WHERE namespace IS NOT NULL AND namespace NOT IN (to_regnamespace($1), 'pg_catalog'::regnamespace, 'monolith'::regnamespace)
              AND NOT of_an_extension
            ORDER BY 1
            """, schema);

        Assert.True(outside.Count == 0, $"The schema depends on objects of other schemas: {string.Join("; ", outside)}");
        Assert.Contains("function monolith.audit_row_change()", await ListAsync(connection,
            """
            SELECT DISTINCT pg_describe_object(d.refclassid, d.refobjid, 0) FROM pg_depend d JOIN pg_trigger g ON g.oid = d.objid
            JOIN pg_class c ON c.oid = g.tgrelid WHERE d.classid = 'pg_trigger'::regclass AND c.relnamespace = to_regnamespace($1)
            """, schema)); // the query sees dependencies outside the schema at all
    }

    [Fact]
    public async Task No_foreign_key_leaves_a_tenant_schema_and_every_table_has_a_primary_key()
    {
        await using var connection = await SuperuserAsync();
        var schema = await SchemaOfAsync(MonolithFixture.Alpha);

        var leaving = await ListAsync(connection,
            """
            SELECT k.conrelid::regclass || ' -> ' || k.confrelid::regclass
            FROM pg_constraint k JOIN pg_class f ON f.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid
            WHERE k.contype = 'f' AND (f.relnamespace = to_regnamespace($1)) <> (r.relnamespace = to_regnamespace($1))
            """, schema);
        var withoutKey = await ListAsync(connection,
            """
            SELECT c.relname FROM pg_class c
            WHERE c.relnamespace = to_regnamespace($1) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
            ORDER BY 1
            """, schema);

        Assert.Empty(leaving);
        Assert.Empty(withoutKey);
    }

    private static HashSet<string> SchemasNamedIn(string script)
    {
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match reference in QualifiedObject().Matches(SqlComment().Replace(script, "")))
        {
            named.Add(reference.Groups["schema"].Value);
        }

        named.RemoveWhere(name => name.Equals("new", StringComparison.OrdinalIgnoreCase) || name.Equals("old", StringComparison.OrdinalIgnoreCase));

        return named;
    }

    private async Task<string> SchemaOfAsync(string identifier) =>
        (await Fixture.Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None))!.SchemaName;

    private async Task<NpgsqlConnection> SuperuserAsync()
    {
        var connection = new NpgsqlConnection(Fixture.Connections.Superuser);
        await connection.OpenAsync();
        return connection;
    }

    private static async Task<List<string>> ListAsync(NpgsqlConnection connection, string sql, string schema)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue(schema);
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    [GeneratedRegex(@"--[^\n]*")]
    private static partial Regex SqlComment();

    /// <summary>A schema-qualified object after the words that name one (a table, a function, a schema's objects).</summary>
    [GeneratedRegex(@"\b(?<!DISTINCT\s)(?:FROM|JOIN|INTO|UPDATE|TABLE|REFERENCES|FUNCTION|PROCEDURE|SCHEMA|SEQUENCE|TYPE|nextval\(')\s*(?<schema>[a-z_][a-z0-9_]*)\.(?<name>[a-z_][a-z0-9_]*)\b", RegexOptions.IgnoreCase)]
    private static partial Regex QualifiedObject();
}
