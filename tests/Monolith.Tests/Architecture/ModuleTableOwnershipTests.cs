using System.Text.RegularExpressions;
using Monolith.Migrations;
using Monolith.Tests.Support;

namespace Monolith.Tests.Architecture;

/// <summary>
/// No module reads or writes another module's tables: each table belongs to the module whose migration script creates
/// it, and the SQL in a module's source (its string literals) names only its own tables. What another module's data is
/// needed for goes through that module's contracts (Tenancy's: <c>Monolith.Tenancy.Contracts</c>).
/// </summary>
[Trait("Category", Categories.Unit)]
public sealed partial class ModuleTableOwnershipTests
{
    private static readonly string[] Modules = ["Tenancy", "Access", "Customers", "Auditing", "Toggles"];

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

    private static HashSet<string> TablesNamedIn(string source, IEnumerable<string> tables)
    {
        var known = tables.ToHashSet(StringComparer.Ordinal);
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match literal in StringLiteral().Matches(source))
        {
            foreach (Match reference in TableReference().Matches(literal.Value))
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
        }

        return named;
    }

    [GeneratedRegex(@"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:(?<schema>[a-z_]+)\.)?(?<table>[a-z_]+)\b", RegexOptions.IgnoreCase)]
    private static partial Regex CreateTable();

    /// <summary>Raw (<c>"""…"""</c>), verbatim and regular string literals, interpolated or not.</summary>
    [GeneratedRegex(@"""""""[\s\S]*?""""""|@""(?:[^""]|"""")*""|""(?:[^""\\\n]|\\.)*""")]
    private static partial Regex StringLiteral();

    /// <summary>A table after the SQL words that name one; any schema prefix (a name, a placeholder, %I).</summary>
    [GeneratedRegex(@"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|ON|TRUNCATE)\s+(?:ONLY\s+)?(?:(?<schema>[\w{}%""]+)\.)?(?<table>[a-z_]+)\b", RegexOptions.IgnoreCase)]
    private static partial Regex TableReference();
}
