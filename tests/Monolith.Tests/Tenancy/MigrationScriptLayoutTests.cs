using DbUp.Engine;
using Monolith.Migrations;
using Monolith.Tests.Support;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// Scripts live in their module's folder and run in one deterministic order; the names DbUp journals never change, or
/// every existing tenant would run its scripts again.
/// </summary>
[Trait("Category", Categories.Unit)]
public sealed class MigrationScriptLayoutTests
{
    private static readonly string[] Modules = ["access", "auditing", "customers", "tenancy", "toggles"];

    [Fact]
    public void Every_embedded_script_sits_in_a_known_module_folder()
    {
        foreach (var script in MigrationScripts.Tenant.All.Concat(MigrationScripts.Platform.All))
        {
            Assert.Contains(script.Module, Modules);
        }

        Assert.Equal("customers", MigrationScripts.Tenant.ModuleOf("0004_customers.sql"));
        Assert.Equal("access", MigrationScripts.Tenant.ModuleOf("0020_sessions.sql"));
        Assert.Equal("tenancy", MigrationScripts.Platform.ModuleOf("0001_catalog.sql"));
        Assert.Null(MigrationScripts.Tenant.ModuleOf("0001_catalog.sql"));
    }

    [Fact]
    public void Scripts_journaled_by_existing_tenants_keep_their_names_and_their_order()
    {
        // What tenants provisioned before the scripts moved into module folders hold in their journals, in the order
        // they ran. A rename (or a reorder) here would make DbUp run a script twice on every existing tenant.
        string[] journaledTenant =
        [
            "0001_tenant_settings.sql", "0002_audit_trail.sql", "0003_access.sql", "0004_customers.sql", "0005_idempotency.sql",
            "0006_toggles.sql", "0007_audit_queries.sql", "0008_audit_written_by_its_owner.sql", "0010_shared_functions.sql",
            "0020_sessions.sql",
        ];
        string[] journaledPlatform =
        [
            "0001_catalog.sql", "0002_logs.sql", "0003_retention_runs.sql", "0004_request_role_and_bounds.sql", "0010_shared_functions.sql",
        ];

        Assert.Equal(journaledTenant, MigrationScripts.Tenant.Scripts.Select(s => s.Name).Take(journaledTenant.Length));
        Assert.Equal(journaledPlatform, MigrationScripts.Platform.Scripts.Select(s => s.Name).Take(journaledPlatform.Length));
    }

    [Fact]
    public void Scripts_run_by_number_then_module_then_name_whatever_order_they_are_found_in()
    {
        ModuleScript[] found =
        [
            new("toggles", new SqlScript("0021_toggle_notes.sql", "")),
            new("access", new SqlScript("0030_invitations.sql", "")),
            new("access", new SqlScript("0021_user_notes.sql", "")),
            new("customers", new SqlScript("0021_customer_notes.sql", "")),
            new("access", new SqlScript("0021_a_first.sql", "")),
            new("tenancy", new SqlScript("0100_settings_notes.sql", "")),
            new("tenancy", new SqlScript("0002_settings.sql", "")),
        ];
        string[] expected =
        [
            "0002_settings.sql", "0021_a_first.sql", "0021_user_notes.sql", "0021_customer_notes.sql", "0021_toggle_notes.sql",
            "0030_invitations.sql", "0100_settings_notes.sql",
        ];

        Assert.Equal(expected, new MigrationScripts(found).Scripts.Select(s => s.Name));
        Assert.Equal(expected, new MigrationScripts(found.Reverse()).Scripts.Select(s => s.Name));
        Assert.Equal("0100_settings_notes", new MigrationScripts(found).LatestVersion);
    }

    [Fact]
    public void Two_modules_may_not_use_one_file_name()
    {
        var clash = Assert.Throws<InvalidOperationException>(() => new MigrationScripts(
        [
            new ModuleScript("access", new SqlScript("0021_notes.sql", "")),
            new ModuleScript("customers", new SqlScript("0021_notes.sql", "")),
        ]));

        Assert.Contains("0021_notes.sql", clash.Message, StringComparison.Ordinal);
        Assert.Contains("access", clash.Message, StringComparison.Ordinal);
        Assert.Contains("customers", clash.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("notes.sql")]
    [InlineData("_notes.sql")]
    [InlineData("v1_notes.sql")]
    [InlineData("-1_notes.sql")]
    public void A_script_without_a_leading_number_is_refused(string name)
    {
        var refused = Assert.Throws<InvalidOperationException>(() => new MigrationScripts([new SqlScript(name, "")]));
        Assert.Contains("NNNN_what.sql", refused.Message, StringComparison.Ordinal);
    }
}
