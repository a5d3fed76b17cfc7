using Monolith.Tenancy;
using Monolith.Tenancy.Backups;
using Monolith.Tenancy.Catalog;
using Monolith.Tests.Support;

namespace Monolith.Tests.Tenancy;

[Trait("Category", Categories.Unit)]
public sealed class RestoreScriptTests
{
    private static readonly TenantInfo Original = Tenant("acme");
    private static readonly TenantInfo Target = Tenant("acme_copy");

    [Fact]
    public void Every_reference_to_the_original_schema_and_role_becomes_the_targets_and_the_copy_data_stays_as_it_is()
    {
        var sql = string.Join('\n',
            "-- Name: access_changed(); Type: FUNCTION; Schema: acme",
            "CREATE SCHEMA acme;",
            "CREATE FUNCTION acme.access_changed() RETURNS trigger",
            "    LANGUAGE plpgsql",
            "    SET search_path TO 'acme'",
            "    AS $$ BEGIN INSERT INTO access_state VALUES (true, 1); RETURN NULL; END $$;",
            $"GRANT SELECT ON TABLE acme.customers TO {Original.RoleName};",
            "SELECT pg_catalog.setval('acme.feature_toggle_versions', 1, false);",
            "COPY acme.customers (id, name) FROM stdin;",
            "1\tacme.example 'acme'",
            "\\.",
            "CREATE INDEX acme_like ON acme.customers USING btree (name);");

        var rewritten = RestoreScript.Rewrite(sql, Original, Target);

        Assert.DoesNotContain("CREATE SCHEMA", rewritten, StringComparison.Ordinal);
        Assert.Contains("CREATE FUNCTION acme_copy.access_changed()", rewritten, StringComparison.Ordinal);
        Assert.Contains("SET search_path TO 'acme_copy'", rewritten, StringComparison.Ordinal);
        Assert.Contains($"GRANT SELECT ON TABLE acme_copy.customers TO {Target.RoleName};", rewritten, StringComparison.Ordinal);
        Assert.Contains("setval('acme_copy.feature_toggle_versions'", rewritten, StringComparison.Ordinal);
        Assert.Contains("COPY acme_copy.customers (id, name) FROM stdin;\n1\tacme.example 'acme'\n\\.\n", rewritten, StringComparison.Ordinal);
        Assert.Contains("CREATE INDEX acme_like ON acme_copy.customers", rewritten, StringComparison.Ordinal);
        Assert.DoesNotContain(Original.RoleName, rewritten, StringComparison.Ordinal);
    }

    private static TenantInfo Tenant(string schema) =>
        new(Guid.CreateVersion7(), schema.Replace('_', '-'), schema, schema, TenantIdentifier.RoleNameOf(Guid.CreateVersion7()),
            TenantStatus.Active, null, null, null, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
}
