using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Monolith.Access;
using Monolith.Auditing;
using Monolith.Customers;
using Monolith.Migrations;
using Monolith.Tenancy;
using Monolith.Toggles;
using Monolith.Tests.Support;

namespace Monolith.Tests.Architecture;

/// <summary>
/// No module reads or writes another module's tables: each table belongs to the module whose migration script creates
/// it, and the SQL in a module's source (its string literals), its EF Core model and its migration scripts name only its
/// own tables. What another module's data is needed for goes through that module's contracts (Tenancy's:
/// <c>Monolith.Tenancy.Contracts</c>).
/// </summary>
[Trait("Category", Categories.Unit)]
public sealed partial class ModuleTableOwnershipTests
{
    private static readonly string[] Modules = ["Tenancy", "Access", "Customers", "Auditing", "Toggles"];

    private static readonly Dictionary<string, Assembly> Assemblies = new()
    {
        ["Tenancy"] = typeof(TenancyModule).Assembly,
        ["Access"] = typeof(AccessModule).Assembly,
        ["Customers"] = typeof(CustomersModule).Assembly,
        ["Auditing"] = typeof(AuditingModule).Assembly,
        ["Toggles"] = typeof(TogglesModule).Assembly,
    };

    /// <summary>
    /// Where a script names another module's table, and why that is the owner's wish rather than a reach across: each
    /// entry is (script, table). Keep it short; a new entry needs the reason next to it.
    /// </summary>
    private static readonly (string Script, string Table, string Reason)[] ScriptExemptions =
    [
        ("0006_toggles.sql", "tenant_settings",
            "history: Toggles' triggers on Tenancy's table, from before Tenancy published TenantSettingChanged; 0044 drops them"),
        ("0044_undefined_default_follows_settings_event.sql", "tenant_settings", "drops those triggers"),
        ("0002_audit_trail.sql", "tenant_settings",
            "history: the audit trigger on Tenancy's settings came with the trail, before scripts were kept per module"),
        ("0010_shared_functions.sql", "feature_toggle_state",
            "history: one script made the shared functions of every module (new ones go to the owner's folder)"),
        ("0010_shared_functions.sql", "access_state", "the same"),
        ("0010_shared_functions.sql", "platform.tenants", "the catalog read in SQL: which tenant a schema is"),
        ("0011_toggle_schedule_due.sql", "platform.tenants",
            "the catalog read in SQL: a shared trigger function maps the schema it fires in to the tenant's id"),
        ("0021_toggle_schedule_due.sql", "platform.tenants", "the same, once for rows written before the trigger"),
        ("0031_mail_due.sql", "platform.tenants", "the same (mail)"),
        ("0031_mail_outbox_due.sql", "platform.tenants", "the same, once for rows written before the trigger"),
        ("0060_mail_outbox_depth.sql", "platform.tenants", "the outbox gauge walks the live tenants' schemas"),
        ("0070_audit_anchor_batches.sql", "platform.tenants", "the anchoring job walks the live tenants' schemas, in slices"),
        ("0084_audit_anchor_batch_per_server.sql", "platform.tenants", "the same, only the tenants the server holds"),
    ];

    [Fact]
    public void Every_table_has_one_owning_module()
    {
        var owners = TableOwners();

        Assert.Contains("platform.tenants", owners.Keys);
        Assert.Equal("Toggles", owners["feature_toggles"]);
        Assert.Equal("Tenancy", owners["tenant_settings"]);
        Assert.Equal("Auditing", owners["platform.retention_runs"]);
    }

    [Theory]
    [InlineData("Tenancy")]
    [InlineData("Access")]
    [InlineData("Customers")]
    [InlineData("Auditing")]
    [InlineData("Toggles")]
    public void A_modules_sql_names_only_its_own_tables(string module)
    {
        var owners = TableOwners();
        var directory = Path.Combine(TestDatabase.RepositoryRoot(), "modules", module);
        var foreign = Directory.EnumerateFiles(directory, "*.cs", SearchOption.AllDirectories)
            .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(file => TablesNamedIn(File.ReadAllText(file), owners.Keys)
                .Where(table => owners[table] != module)
                .Select(table => $"{Path.GetRelativePath(directory, file)} names {table} ({owners[table]})"))
            .Distinct()
            .ToList();

        Assert.True(foreign.Count == 0, $"{module} names tables of other modules: {string.Join("; ", foreign)}");
    }

    [Theory]
    [InlineData("Tenancy")]
    [InlineData("Access")]
    [InlineData("Customers")]
    [InlineData("Auditing")]
    [InlineData("Toggles")]
    public void A_modules_ef_model_maps_only_its_own_tables_and_no_schema(string module)
    {
        var owners = TableOwners();
        var wrong = ModelTables(Assemblies[module])
            .Where(t => t.Schema is not null || !owners.TryGetValue(t.Table, out var owner) || owner != module)
            .Select(t => $"{t.Context} maps {(t.Schema is null ? "" : t.Schema + ".")}{t.Table}"
                + (owners.TryGetValue(t.Table, out var o) ? $" ({o})" : " (no script creates it)"))
            .ToList();

        Assert.True(wrong.Count == 0,
            $"{module}'s EF Core model maps tables it does not own, or names a schema (one model serves every tenant through the search_path): {string.Join("; ", wrong)}");
    }

    [Theory]
    [InlineData("Access")]
    [InlineData("Customers")]
    [InlineData("Auditing")]
    [InlineData("Toggles")]
    public void A_feature_module_has_one_ef_core_model(string module)
    {
        var contexts = ModelTables(Assemblies[module]).Select(t => t.Context).Distinct().ToList();

        Assert.True(contexts.Count == 1, $"{module} has {contexts.Count} DbContext types: {string.Join(", ", contexts)} (one model per module, docs/adr/0036)");
    }

    [Fact]
    public void The_model_scan_sees_the_customers_tables()
    {
        Assert.Equal(
            ["customers", "project_warehouses", "projects", "warehouses"],
            ModelTables(Assemblies["Customers"]).Select(t => t.Table).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_modules_migration_scripts_name_only_its_own_tables()
    {
        var owners = TableOwners();
        var foreign = new List<string>();
        foreach (var scripts in new[] { MigrationScripts.Platform, MigrationScripts.Tenant })
        {
            foreach (var script in scripts.Scripts)
            {
                var module = OwnerOf(scripts, script.Name);
                foreign.AddRange(TablesNamedInSql(script.Contents, owners.Keys)
                    .Where(table => owners[table] != module
                        && !ScriptExemptions.Any(e => e.Script == script.Name && e.Table == table))
                    .Select(table => $"{script.Name} ({module}) names {table} ({owners[table]})"));
            }
        }

        Assert.True(foreign.Count == 0, $"Scripts name tables of other modules: {string.Join("; ", foreign)}");
    }

    [Fact]
    public void The_script_scan_sees_table_names_and_skips_comments()
    {
        var owners = TableOwners();
        const string script = """
            -- a comment that says FROM users is no reference
            CREATE TRIGGER x AFTER INSERT ON tenant_settings FOR EACH ROW EXECUTE FUNCTION f();
            SELECT 1 FROM platform.tenants t JOIN feature_toggles f ON true;
            """;

        Assert.Equal(["feature_toggles", "platform.tenants", "tenant_settings"],
            TablesNamedInSql(script, owners.Keys).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_scan_sees_the_sql_in_string_literals()
    {
        var owners = TableOwners();
        const string source = """
            var a = "SELECT x FROM tenant_settings WHERE key = $1";
            var b = $"INSERT INTO {schema}.feature_toggles (key) VALUES ($1)";
            // a comment that says FROM users is no SQL
            """;

        Assert.Equal(["feature_toggles", "tenant_settings"], TablesNamedIn(source, owners.Keys).Order(StringComparer.Ordinal));
    }

    /// <summary>Table (platform tables qualified: <c>platform.tenants</c>; tenant tables bare) → owning module.</summary>
    private static Dictionary<string, string> TableOwners()
    {
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var scripts in new[] { MigrationScripts.Platform, MigrationScripts.Tenant })
        {
            foreach (var script in scripts.Scripts)
            {
                foreach (Match created in CreateTable().Matches(script.Contents))
                {
                    var module = OwnerOf(scripts, script.Name);
                    var schema = created.Groups["schema"].Value;
                    owners.TryAdd(schema.Length == 0 ? created.Groups["table"].Value : $"{schema}.{created.Groups["table"].Value}", module);
                }
            }
        }

        return owners;
    }

    /// <summary>The module whose folder holds the script (<c>scripts/tenant/toggles/…</c> → Toggles).</summary>
    private static string OwnerOf(MigrationScripts scripts, string scriptName)
    {
        var folder = scripts.ModuleOf(scriptName) ?? throw new InvalidOperationException($"{scriptName} is in no module's folder.");
        return Modules.Single(m => string.Equals(m, folder, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The tables every DbContext in the assembly maps (a model is built without a database).</summary>
    private static List<(string Context, string? Schema, string Table)> ModelTables(Assembly assembly)
    {
        var tables = new List<(string, string?, string)>();
        foreach (var contextType in assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(DbContext)) && !t.IsAbstract))
        {
            var options = (DbContextOptionsBuilder)Activator.CreateInstance(typeof(DbContextOptionsBuilder<>).MakeGenericType(contextType))!;
            options.UseNpgsql("Host=model-only");
            using var context = (DbContext)Activator.CreateInstance(contextType, options.Options)!;
            foreach (var entity in context.Model.GetEntityTypes())
            {
                if (entity.GetTableName() is { } table)
                {
                    tables.Add((contextType.Name, entity.GetSchema(), table));
                }
            }
        }

        return tables;
    }

    private static HashSet<string> TablesNamedIn(string source, IEnumerable<string> tables)
    {
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match literal in StringLiteral().Matches(source))
        {
            named.UnionWith(TablesNamedInSql(literal.Value, tables));
        }

        return named;
    }

    private static HashSet<string> TablesNamedInSql(string sql, IEnumerable<string> tables)
    {
        var known = tables.ToHashSet(StringComparer.Ordinal);
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match reference in TableReference().Matches(SqlComment().Replace(sql, "")))
        {
            var schema = reference.Groups["schema"].Value;
            var table = reference.Groups["table"].Value;
            var qualified = $"{schema}.{table}";
            if (known.Contains(qualified))
            {
                named.Add(qualified);
            }
            else if (known.Contains(table))
            {
                named.Add(table);
            }
        }

        return named;
    }

    [GeneratedRegex(@"--[^\n]*")]
    private static partial Regex SqlComment();

    [GeneratedRegex(@"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:(?<schema>[a-z_]+)\.)?(?<table>[a-z_]+)\b", RegexOptions.IgnoreCase)]
    private static partial Regex CreateTable();

    /// <summary>Raw (<c>"""…"""</c>), verbatim and regular string literals, interpolated or not.</summary>
    [GeneratedRegex(@"""""""[\s\S]*?""""""|@""(?:[^""]|"""")*""|""(?:[^""\\\n]|\\.)*""")]
    private static partial Regex StringLiteral();

    /// <summary>A table after the SQL words that name one; any schema prefix (a name, a placeholder, %I).</summary>
    [GeneratedRegex(@"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|ON|TRUNCATE)\s+(?:ONLY\s+)?(?:(?<schema>[\w{}%""]+)\.)?(?<table>[a-z_]+)\b", RegexOptions.IgnoreCase)]
    private static partial Regex TableReference();
}
