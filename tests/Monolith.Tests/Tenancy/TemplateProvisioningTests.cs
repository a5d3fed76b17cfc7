using System.Net.Http.Json;
using DbUp.Engine;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Monolith.Migrations;
using Monolith.Tenancy;
using Monolith.Tenancy.Backups;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Operators;
using Monolith.Tenancy.Placement;
using Monolith.Tenancy.Provisioning;
using Monolith.Tests.Access;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// New schemas are copied from a template (docs/adr/0062). The copy must be exactly what replaying the scripts makes, so
/// the template can never drift: both ways are compared object by object, names of the schema and role aside.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class TemplateProvisioningTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task A_schema_copied_from_the_template_is_the_schema_the_scripts_make_object_for_object()
    {
        var fromTemplate = MonolithFixture.UniqueIdentifier("tpl");
        var fromScripts = MonolithFixture.UniqueIdentifier("scr");

        var templated = await Provisioner(Fill.Template, MigrationScripts.Tenant).CreateAsync(Command(fromTemplate), CancellationToken.None);
        var scripted = await Provisioner(Fill.Scripts, MigrationScripts.Tenant).CreateAsync(Command(fromScripts), CancellationToken.None);
        Assert.Equal(ProvisioningStatus.Done, templated.Status);
        Assert.Equal(ProvisioningStatus.Done, scripted.Status);
        Assert.Equal(MigrationScripts.Tenant.LatestVersion, templated.Tenant!.SchemaVersion);
        Assert.Equal("copied from the template", await HowFilledAsync(fromTemplate));
        Assert.Equal("by the tenant scripts", await HowFilledAsync(fromScripts));

        var expected = await DescribeAsync(scripted.Tenant!);
        var actual = await DescribeAsync(templated.Tenant!);
        Assert.True(expected.Count > 100, $"the description sees too little ({expected.Count} facts)");
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task A_template_of_other_scripts_is_rebuilt_and_a_template_that_cannot_be_built_falls_back_to_the_scripts()
    {
        var extra = new SqlScript("9100_template_extra.sql", "CREATE TABLE template_extra (id int PRIMARY KEY); GRANT SELECT ON template_extra TO $tenant_role$;");
        var identifier = MonolithFixture.UniqueIdentifier("tplx");
        var created = await Provisioner(Fill.Template, MigrationScripts.Tenant.With(extra)).CreateAsync(Command(identifier), CancellationToken.None);
        Assert.Equal("9100_template_extra", created.Tenant!.SchemaVersion);
        Assert.Equal("copied from the template", await HowFilledAsync(identifier));
        Assert.True(await CountAsync($"SELECT count(*) FROM pg_tables WHERE schemaname = '{created.Tenant.SchemaName}' AND tablename = 'template_extra'") == 1);
        Assert.True(await CountAsync($"SELECT count(*) FROM {TenantTemplate.SchemaName}.schemaversions WHERE scriptname = '9100_template_extra.sql'") == 1);

        // A script that fails in the template fails in the scripts too: the provisioning fails cleanly either way.
        var broken = new SqlScript("9101_template_broken.sql", "SELECT * FROM no_such_table;");
        var failing = MonolithFixture.UniqueIdentifier("tplb");
        await Assert.ThrowsAsync<ProvisioningFailedException>(
            () => Provisioner(Fill.Template, MigrationScripts.Tenant.With(broken)).CreateAsync(Command(failing), CancellationToken.None));
        Assert.Null(await Fixture.Service<TenantCatalog>().FindAsync(failing, CancellationToken.None));
        Assert.True(await CountAsync($"SELECT count(*) FROM pg_namespace WHERE nspname = '{TenantIdentifier.SchemaNameOf(failing)}'") == 0);

        // The scripts in force build it back.
        var after = await Provisioner(Fill.Template, MigrationScripts.Tenant).CreateAsync(Command(MonolithFixture.UniqueIdentifier("tpla")), CancellationToken.None);
        Assert.Equal(MigrationScripts.Tenant.LatestVersion, after.Tenant!.SchemaVersion);
        Assert.Equal("copied from the template", await HowFilledAsync(after.Tenant.Identifier));
        Assert.True(await CountAsync($"SELECT count(*) FROM pg_tables WHERE schemaname = '{after.Tenant.SchemaName}' AND tablename = 'template_extra'") == 0);
    }

    [Fact]
    public async Task A_spare_schema_handed_out_is_the_schema_the_scripts_make_and_spares_of_older_scripts_are_dropped()
    {
        // Scripts of their own (a marker script): no other host hands these spares out or counts them as its own.
        var scripts = MigrationScripts.Tenant.With(new SqlScript("9200_spare_marker.sql", "SELECT 1;"));
        var spares = Provisioner(Fill.Spare, scripts);
        for (var attempt = 0; attempt < 100 && await CountAsync(SparesOf("9200_spare_marker")) == 0; attempt++)
        {
            await spares.Spares.TopUpAsync(CancellationToken.None); // 0 while another instance is topping up: try again
            await Task.Delay(100);
        }

        Assert.Equal(2, await CountAsync(SparesOf("9200_spare_marker")));
        var markerSpares = await SpareNamesAsync("9200_spare_marker");
        var fromSpare = MonolithFixture.UniqueIdentifier("spr");
        var fromScripts = MonolithFixture.UniqueIdentifier("sps");
        var spared = await spares.CreateAsync(Command(fromSpare), CancellationToken.None);
        var scripted = await Provisioner(Fill.Scripts, scripts).CreateAsync(Command(fromScripts), CancellationToken.None);
        Assert.Equal("taken from the spare schemas", await HowFilledAsync(fromSpare));
        Assert.Equal("by the tenant scripts", await HowFilledAsync(fromScripts));
        Assert.Equal(1, await CountAsync(SparesOf("9200_spare_marker")));
        Assert.Equal(await DescribeAsync(scripted.Tenant!), await DescribeAsync(spared.Tenant!));

        // The handed-out tenant works: its owner signs in and writes through the tenant role.
        var tokens = await Fixture.Factory.LoginAsync(fromSpare, MonolithFixture.OwnerEmail(fromSpare), MonolithFixture.OwnerPassword);
        var created = await Fixture.Factory.TenantClient(fromSpare).WithBearer(tokens.AccessToken).PostAsJsonAsync("/customers",
            new { name = "Spare Ltd", email = "spare@example.test", projects = new[] { new { name = "First" } } });
        Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);

        // Spares of scripts older than an instance's are dropped when it tops up; its own stay.
        var newer = Provisioner(Fill.Spare, scripts.With(new SqlScript("9201_spare_marker.sql", "SELECT 1;")));
        var dropped = false;
        for (var attempt = 0; attempt < 100 && !dropped; attempt++)
        {
            await newer.Spares.TopUpAsync(CancellationToken.None);
            dropped = await CountAsync(SparesOf("9200_spare_marker")) == 0;
            await Task.Delay(dropped ? 0 : 100);
        }

        Assert.True(dropped, "the spares of the older scripts were not dropped");
        Assert.Equal(0, await CountAsync($"SELECT count(*) FROM pg_namespace WHERE nspname IN ({string.Join(", ", markerSpares.Select(n => $"'{n}'"))})"));
        await DropSparesAsync("9201_spare_marker"); // newer than anything the other hosts run: they would keep them
    }

    /// <summary>
    /// Every fact of a tenant schema and role that the scripts decide, one line each, with the schema's and role's names
    /// replaced: relations and their options and grants, columns, constraints, indexes, triggers, sequences, functions,
    /// policies, the role's attributes, memberships and its grants anywhere else, and each table's row count.
    /// </summary>
    private async Task<List<string>> DescribeAsync(TenantInfo tenant)
    {
        await using var connection = new NpgsqlConnection(Fixture.Connections.Superuser);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            WITH s AS (SELECT to_regnamespace($1) AS oid), r AS (SELECT to_regrole($2) AS oid)
            SELECT 'relation ' || c.relname || ' ' || c.relkind::text || ' persistence=' || c.relpersistence::text || ' rls=' || c.relrowsecurity
                   || ' options=' || coalesce(c.reloptions::text, '') || ' acl=' || coalesce(c.relacl::text, '')
            FROM pg_class c, s WHERE c.relnamespace = s.oid
            UNION ALL
            SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull
                   || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
                   || ' collation=' || a.attcollation::regcollation::text || ' acl=' || coalesce(a.attacl::text, '')
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN s ON c.relnamespace = s.oid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attnum > 0 AND NOT a.attisdropped
            UNION ALL
            SELECT 'constraint ' || c.relname || '.' || k.conname || ' ' || pg_get_constraintdef(k.oid) || ' deferrable=' || k.condeferrable
                   || ' deferred=' || k.condeferred || ' valid=' || k.convalidated
            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN s ON c.relnamespace = s.oid
            UNION ALL
            SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN s ON c.relnamespace = s.oid
            UNION ALL
            SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN s ON c.relnamespace = s.oid WHERE NOT t.tgisinternal
            UNION ALL
            SELECT 'sequence ' || c.relname || ' ' || q.seqtypid::regtype || ' ' || q.seqstart || ' ' || q.seqincrement || ' ' || q.seqmax
                   || ' ' || q.seqmin || ' ' || q.seqcache || ' ' || q.seqcycle || ' last=' || coalesce(pg_sequence_last_value(c.oid)::text, 'none')
            FROM pg_sequence q JOIN pg_class c ON c.oid = q.seqrelid JOIN s ON c.relnamespace = s.oid
            UNION ALL
            SELECT 'function ' || pg_get_functiondef(p.oid) || ' acl=' || coalesce(p.proacl::text, '') FROM pg_proc p, s WHERE p.pronamespace = s.oid
            UNION ALL
            SELECT 'policy ' || pol.tablename || '.' || pol.policyname || ' ' || pol.cmd || ' ' || coalesce(pol.qual, '') || ' ' || coalesce(pol.with_check, '')
            FROM pg_policies pol WHERE pol.schemaname = $1
            UNION ALL
            SELECT 'schema acl=' || coalesce(n.nspacl::text, '') FROM pg_namespace n, s WHERE n.oid = s.oid
            UNION ALL
            SELECT 'role login=' || a.rolcanlogin || ' inherit=' || a.rolinherit || ' super=' || a.rolsuper || ' createrole=' || a.rolcreaterole
                   || ' createdb=' || a.rolcreatedb || ' bypassrls=' || a.rolbypassrls || ' connlimit=' || a.rolconnlimit
                   || ' config=' || coalesce(a.rolconfig::text, '')
            FROM pg_roles a, r WHERE a.oid = r.oid
            UNION ALL
            SELECT 'member of ' || m.roleid::regrole FROM pg_auth_members m, r WHERE m.member = r.oid
            UNION ALL
            SELECT 'granted to ' || CASE WHEN m.member::regrole::text LIKE 't\_%' THEN 'another tenant'
                                         WHEN m.member::regrole::text ~ '_pool[0-9]+_of[0-9]+$' THEN 'a request sub-pool''s login'
                                         ELSE m.member::regrole::text END
            FROM pg_auth_members m, r WHERE m.roleid = r.oid
            UNION ALL
            SELECT 'grant on schema ' || n.nspname || ' ' || x.privilege_type FROM pg_namespace n, aclexplode(n.nspacl) x, r, s
            WHERE x.grantee = r.oid AND n.oid <> s.oid
            UNION ALL
            SELECT 'grant on ' || c.oid::regclass || ' ' || x.privilege_type FROM pg_class c, aclexplode(c.relacl) x, r, s
            WHERE x.grantee = r.oid AND c.relnamespace <> s.oid
            UNION ALL
            SELECT 'grant on ' || p.oid::regprocedure || ' ' || x.privilege_type FROM pg_proc p, aclexplode(p.proacl) x, r, s
            WHERE x.grantee = r.oid AND p.pronamespace <> s.oid
            UNION ALL
            SELECT 'owned elsewhere ' || c.oid::regclass FROM pg_class c, r, s WHERE c.relowner = r.oid AND c.relnamespace <> s.oid
            """, connection);
        command.Parameters.AddWithValue(tenant.SchemaName);
        command.Parameters.AddWithValue(tenant.RoleName);
        var facts = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                facts.Add(reader.GetString(0));
            }
        }

        foreach (var table in facts.Where(f => f.StartsWith("relation ", StringComparison.Ordinal) && f.Split(' ')[2] == "r").Select(f => f.Split(' ')[1]).ToList())
        {
            await using var count = new NpgsqlCommand($"SELECT count(*) FROM \"{tenant.SchemaName}\".\"{table}\"", connection);
            facts.Add($"rows {table} {await count.ExecuteScalarAsync()}");
        }

        return facts
            .Select(f => f.Replace(tenant.RoleName, "<role>", StringComparison.Ordinal).Replace($"\"{tenant.SchemaName}\"", "<schema>", StringComparison.Ordinal)
                .Replace(tenant.SchemaName + ".", "<schema>.", StringComparison.Ordinal).Replace($"'{tenant.SchemaName}'", "'<schema>'", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private enum Fill
    {
        Spare,
        Template,
        Scripts,
    }

    private TenantProvisioner Provisioner(Fill fill, MigrationScripts scripts)
    {
        var options = Fixture.Service<IOptions<TenancyOptions>>().Value;
        return new TenantProvisioner(
            Fixture.Service<PlatformDatabase>(), Fixture.Service<TenantServers>(), Fixture.Service<TenantCatalog>(), Fixture.Service<TenantCatalogCache>(),
            Fixture.Service<TenantContext>(), new TenantScripts(scripts), Fixture.Service<OperatorTrail>(), Fixture.Service<TenantBackups>(),
            Fixture.Service<TenantDatabase>(), Options.Create(Copy(options, fill)), TimeProvider.System, NullLogger<TenantProvisioner>.Instance,
            Fixture.Factory.Services.GetService(typeof(ITenantOwnerSetup)) as ITenantOwnerSetup);
    }

    private static string SparesOf(string scripts) => $"SELECT count(*) FROM platform.spare_schemas WHERE scripts = '{scripts}'";

    private async Task<List<string>> SpareNamesAsync(string scripts)
    {
        await using var connection = new NpgsqlConnection(Fixture.Connections.Superuser);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT schema_name FROM platform.spare_schemas WHERE scripts = $1", connection);
        command.Parameters.AddWithValue(scripts);
        var names = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    private async Task DropSparesAsync(string scripts)
    {
        await using var connection = new NpgsqlConnection(Fixture.Connections.Superuser);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            DO $$ DECLARE s record; BEGIN
                FOR s IN DELETE FROM platform.spare_schemas WHERE scripts = '9201_spare_marker' RETURNING schema_name, role_name LOOP
                    EXECUTE format('DROP SCHEMA %I CASCADE; DROP OWNED BY %I; DROP ROLE %I', s.schema_name, s.role_name, s.role_name);
                END LOOP;
            END $$
            """.Replace("9201_spare_marker", scripts, StringComparison.Ordinal), connection);
        await command.ExecuteNonQueryAsync();
    }

    private static TenancyOptions Copy(TenancyOptions options, Fill fill) => new()
    {
        ResolutionOrder = options.ResolutionOrder,
        BaseDomain = options.BaseDomain,
        DefaultAuditRetentionDays = options.DefaultAuditRetentionDays,
        DefaultLogRetentionDays = options.DefaultLogRetentionDays,
        DeletionGraceDays = options.DeletionGraceDays,
        TransactionPooling = options.TransactionPooling,
        StatementTimeoutMs = options.StatementTimeoutMs,
        MaxConcurrency = options.MaxConcurrency,
        ProvisionFromTemplate = fill != Fill.Scripts,
        SpareSchemas = fill == Fill.Spare ? 2 : 0,
    };

    private static CreateTenantCommand Command(string identifier) =>
        new(identifier, identifier, MonolithFixture.OwnerEmail(identifier), MonolithFixture.OwnerPassword);

    /// <summary>How the tenant's schema was filled, as its creation's record in the operator trail says.</summary>
    private async Task<string> HowFilledAsync(string identifier)
    {
        await using var connection = new NpgsqlConnection(Fixture.Connections.Superuser);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT detail FROM platform.operator_events WHERE tenant = $1 AND action = 'tenant.create' AND outcome = 'succeeded'", connection);
        command.Parameters.AddWithValue(identifier);
        var detail = (string)(await command.ExecuteScalarAsync())!;
        return detail[(detail.IndexOf(", ", StringComparison.Ordinal) + 2)..];
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Fixture.Connections.Superuser);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
