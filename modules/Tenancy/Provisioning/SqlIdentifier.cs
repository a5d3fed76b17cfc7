using System.Text.RegularExpressions;

namespace Monolith.Tenancy.Provisioning;

/// <summary>Quotes schema and role names for DDL, after checking they are names we generate (lowercase, digits, '_').</summary>
internal static partial class SqlIdentifier
{
    public static string Quote(string name) =>
        Safe().IsMatch(name) ? "\"" + name + "\"" : throw new ArgumentException("Not a schema or role name this system generates.", nameof(name));

    [GeneratedRegex("^[a-z][a-z0-9_]{0,62}$")]
    private static partial Regex Safe();
}
