using System.Globalization;
using DbUp.Engine;

namespace Monolith.Migrations;

/// <summary>
/// An ordered set of SQL scripts. Each module keeps its scripts in a folder of its own
/// (<c>scripts/tenant/&lt;module&gt;/NNNN_what.sql</c>, platform likewise); one run orders them all by number, then by
/// module, then by name, so two modules that both add an <c>0021_</c> never collide and always run in the same order.
/// A script's name is its file name ("0003_access.sql"): that is what DbUp journals and what the catalog reports as a
/// tenant's schema version, so file names are unique across modules (checked here) and a script never changes its
/// name once applied anywhere (docs/adr/0035).
/// </summary>
public sealed class MigrationScripts
{
    private readonly Dictionary<string, string> modules;

    public MigrationScripts(IEnumerable<SqlScript> scripts)
        : this(scripts.Select(s => new ModuleScript(ModuleScript.Unassigned, s)))
    {
    }

    internal MigrationScripts(IEnumerable<ModuleScript> scripts)
    {
        var ordered = scripts.Select(s => (Number: NumberOf(s.Script.Name), Script: s)).ToArray()
            .OrderBy(s => s.Number)
            .ThenBy(s => s.Script.Module, StringComparer.Ordinal)
            .ThenBy(s => s.Script.Script.Name, StringComparer.Ordinal)
            .Select(s => s.Script)
            .ToArray();
        modules = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var script in ordered)
        {
            if (!modules.TryAdd(script.Script.Name, script.Module))
            {
                throw new InvalidOperationException(
                    $"Two migration scripts are named {script.Script.Name} ({modules[script.Script.Name]} and {script.Module}): " +
                    "DbUp journals scripts by file name, so names must be unique across modules. Rename the newer one.");
            }
        }

        All = ordered;
        Scripts = ordered.Select(s => s.Script).ToArray();
        LatestVersion = Scripts.Count == 0 ? null : VersionOf(Scripts[^1].Name);
    }

    /// <summary>The scripts in the order they run.</summary>
    public IReadOnlyList<SqlScript> Scripts { get; }

    /// <summary>The scripts in the order they run, each with the module whose folder holds it.</summary>
    public IReadOnlyList<ModuleScript> All { get; }

    /// <summary>The name of the newest script without ".sql", or null when there is none.</summary>
    public string? LatestVersion { get; }

    public static MigrationScripts Platform { get; } = new(Embedded("platform"));

    public static MigrationScripts Tenant { get; } = new(Embedded("tenant"));

    /// <summary>The module whose folder holds the script, or null for a script this set does not hold.</summary>
    public string? ModuleOf(string scriptName) => modules.GetValueOrDefault(scriptName);

    public MigrationScripts With(params SqlScript[] extra) =>
        new(All.Concat(extra.Select(s => new ModuleScript(ModuleScript.Unassigned, s))));

    public static string VersionOf(string scriptName) =>
        scriptName.EndsWith(".sql", StringComparison.Ordinal) ? scriptName[..^4] : scriptName;

    /// <summary>The leading number of "0003_access.sql"; every script name starts with one, followed by '_'.</summary>
    internal static int NumberOf(string scriptName)
    {
        var separator = scriptName.IndexOf('_', StringComparison.Ordinal);
        if (separator < 1 || !int.TryParse(scriptName.AsSpan(0, separator), NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            throw new InvalidOperationException($"Migration script {scriptName} must be named NNNN_what.sql (a number, '_', a name).");
        }

        return number;
    }

    /// <summary>Resources are named "scripts/&lt;kind&gt;/&lt;module&gt;/&lt;file&gt;" by the project file (LogicalName).</summary>
    private static IEnumerable<ModuleScript> Embedded(string kind)
    {
        var assembly = typeof(MigrationScripts).Assembly;
        var prefix = $"scripts/{kind}/";
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var path = resource[prefix.Length..].Split('/');
            if (path.Length != 2)
            {
                throw new InvalidOperationException($"Migration script {resource} must sit in a module's folder: scripts/{kind}/<module>/NNNN_what.sql.");
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            yield return new ModuleScript(path[0], new SqlScript(path[1], reader.ReadToEnd()));
        }
    }
}

/// <summary>A script and the module that owns it (the folder it sits in).</summary>
public sealed record ModuleScript(string Module, SqlScript Script)
{
    /// <summary>The module of a script added in code (tests), not from a module's folder.</summary>
    public const string Unassigned = "";
}
