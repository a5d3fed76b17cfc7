using Monolith.Tenancy.Catalog;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// The conventions every tenant table follows, checked on a provisioned schema rather than learned by example: the
/// tenant role can read it (it is the only role requests use), never truncate it or hang triggers or foreign keys on it,
/// and every change to it is audited — unless the table is listed below with the reason it is not.
/// </summary>
[Trait("Category", Categories.Security)]
public sealed class TenantTableConventionTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    /// <summary>Tenant tables without an audit trigger, and why. A new table is audited or it is added here.</summary>
    private static readonly Dictionary<string, string> NotAudited = new(StringComparer.Ordinal)
    {
        ["audit_events"] = "the trail itself",
        ["audit_chain_head"] = "the trail's head, moved by every record",
        ["audit_chain_anchor"] = "what retention removed from the trail, written by retention with its own records",
        ["schemaversions"] = "DbUp's journal of the tenant scripts",
        ["refresh_tokens"] = "hashes of credentials, rotated on every refresh: sign-ins are in the logs, not the trail",
        ["sessions"] = "sign-in sessions, touched by every refresh: the same",
        ["login_failures"] = "failed sign-in counters for the lockout: the same",
        ["access_state"] = "one version counter that tells other instances to drop cached identities",
        ["idempotency_keys"] = "stored responses for replays: the change they replay is audited",
        ["feature_toggle_usage"] = "when toggles were last evaluated, written by a job every few seconds",
        ["feature_toggle_state"] = "one version counter that tells other instances to drop cached toggles",
        ["account_tokens"] = "hashes of single-use mail tokens: what they change (password, verified address) is audited on users",
        ["mail_outbox"] = "mails waiting to be sent, their bodies holding single-use tokens: the flows that write them are audited",
    };

    /// <summary>Tables the tenant role only reads: the trail and the journal are written by the owner role.</summary>
    private static readonly HashSet<string> ReadOnly = new(StringComparer.Ordinal)
    {
        "audit_events", "audit_chain_head", "audit_chain_anchor",
    };

    [Fact]
    public async Task Every_tenant_table_is_audited_or_listed_with_its_reason_and_the_list_names_only_real_tables()
    {
        var tables = await TablesAsync(MonolithFixture.Alpha);

        var unaudited = tables.Where(t => !t.Audited).Select(t => t.Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(NotAudited.Keys.Order(StringComparer.Ordinal).ToList(), unaudited);
        Assert.Contains(tables, t => t.Name == "customers" && t.Audited); // the query sees audit triggers at all
    }

    [Fact]
    public async Task The_tenant_role_reads_every_table_writes_none_of_the_trail_and_cannot_truncate_or_attach_anything()
    {
        var tables = await TablesAsync(MonolithFixture.Alpha);

        foreach (var table in tables.Where(t => t.Name != "schemaversions"))
        {
            Assert.True(table.Select, $"{table.Name}: the tenant role cannot SELECT");
            Assert.False(table.Truncate, $"{table.Name}: the tenant role can TRUNCATE (no trigger would record it)");
            Assert.False(table.Trigger, $"{table.Name}: the tenant role can create triggers on it");
            Assert.False(table.References, $"{table.Name}: the tenant role can reference it from a foreign key");
            Assert.Equal(ReadOnly.Contains(table.Name), !table.Insert && !table.Update && !table.Delete);
        }

        var journal = Assert.Single(tables, t => t.Name == "schemaversions");
        Assert.False(journal.Insert || journal.Update || journal.Delete || journal.Truncate, "the tenant role can rewrite the migration journal");
    }

    [Fact]
    public async Task A_tenant_schema_holds_no_function_of_its_own_and_every_trigger_runs_a_shared_one()
    {
        // A function in the schema would be one copy per tenant (catalog memory at thousands of tenants), and one pinned
        // to the schema by name (SET search_path) keeps pointing at the original after a restore renames the schema.
        var identifier = MonolithFixture.UniqueIdentifier("fns");
        await Fixture.ProvisionAsync(identifier);
        var tenant = (await Fixture.Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None))!;
        await using var connection = new NpgsqlConnection(Fixture.Connections.Superuser);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT 'function ' || p.proname FROM pg_proc p WHERE p.pronamespace = to_regnamespace($1)
            UNION ALL
            SELECT 'trigger ' || c.relname || '.' || t.tgname || ' runs ' || f.pronamespace::regnamespace || '.' || f.proname
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc f ON f.oid = t.tgfoid
            WHERE c.relnamespace = to_regnamespace($1) AND NOT t.tgisinternal AND f.pronamespace <> 'monolith'::regnamespace
            """, connection);
        command.Parameters.AddWithValue(tenant.SchemaName);
        var offenders = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                offenders.Add(reader.GetString(0));
            }
        }

        Assert.Empty(offenders);
    }

    private async Task<List<TableFacts>> TablesAsync(string identifier)
    {
        var tenant = (await Fixture.Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None))!;
        await using var connection = new NpgsqlConnection(Fixture.Connections.Superuser);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT c.relname,
                   EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                           WHERE t.tgrelid = c.oid AND NOT t.tgisinternal AND t.tgenabled <> 'D'
                             AND p.proname = 'audit_row_change'),
                   has_table_privilege($2, c.oid, 'SELECT'), has_table_privilege($2, c.oid, 'INSERT'),
                   has_table_privilege($2, c.oid, 'UPDATE'), has_table_privilege($2, c.oid, 'DELETE'),
                   has_table_privilege($2, c.oid, 'TRUNCATE'), has_table_privilege($2, c.oid, 'TRIGGER'),
                   has_table_privilege($2, c.oid, 'REFERENCES')
            FROM pg_class c
            WHERE c.relnamespace = to_regnamespace($1) AND c.relkind IN ('r', 'p')
            ORDER BY c.relname
            """, connection);
        command.Parameters.AddWithValue(tenant.SchemaName);
        command.Parameters.AddWithValue(tenant.RoleName);
        await using var reader = await command.ExecuteReaderAsync();
        var tables = new List<TableFacts>();
        while (await reader.ReadAsync())
        {
            tables.Add(new TableFacts(reader.GetString(0), reader.GetBoolean(1), reader.GetBoolean(2), reader.GetBoolean(3),
                reader.GetBoolean(4), reader.GetBoolean(5), reader.GetBoolean(6), reader.GetBoolean(7), reader.GetBoolean(8)));
        }

        Assert.NotEmpty(tables);
        return tables;
    }

    private sealed record TableFacts(
        string Name, bool Audited, bool Select, bool Insert, bool Update, bool Delete, bool Truncate, bool Trigger, bool References);
}
