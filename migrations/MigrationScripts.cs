using System.Reflection;
using DbUp.Engine;

namespace Monolith.Migrations;

/// <summary>
/// An ordered set of SQL scripts. Names are the file names ("0003_customers.sql"), which is what
/// DbUp journals and what the catalog reports as a tenant's schema version.
/// </summary>
public sealed class MigrationScripts
{
    public MigrationScripts(IEnumerable<SqlScript> scripts)
    {
        Scripts = scripts.OrderBy(s => s.Name, StringComparer.Ordinal).ToArray();
        LatestVersion = Scripts.Count == 0 ? null : VersionOf(Scripts[^1].Name);
    }

    public IReadOnlyList<SqlScript> Scripts { get; }

    /// <summary>The name of the newest script without ".sql", or null when there is none.</summary>
    public string? LatestVersion { get; }

    public static MigrationScripts Platform { get; } = new(Embedded("platform"));

    public static MigrationScripts Tenant { get; } = new(Embedded("tenant"));

    public MigrationScripts With(params SqlScript[] extra) => new(Scripts.Concat(extra));

    public static string VersionOf(string scriptName) =>
        scriptName.EndsWith(".sql", StringComparison.Ordinal) ? scriptName[..^4] : scriptName;

    private static IEnumerable<SqlScript> Embedded(string folder)
    {
        var assembly = typeof(MigrationScripts).Assembly;
        var prefix = $"{assembly.GetName().Name}.scripts.{folder}.";
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            yield return new SqlScript(resource[prefix.Length..], reader.ReadToEnd());
        }
    }
}
