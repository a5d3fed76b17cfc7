using System.Text.RegularExpressions;

namespace Monolith.Tenancy.Provisioning;

/// <summary>Quotes schema and role names for DDL, after checking they are names we generate (lowercase, digits, '_').</summary>
internal static partial class SqlIdentifier
{
    public static string Quote(string name) =>
        Safe().IsMatch(name) ? "\"" + name + "\"" : throw new ArgumentException("Not a schema or role name this system generates.", nameof(name));

    /// <summary>Quotes a configured name (the request role's, from its connection string) as an identifier.</summary>
    public static string QuoteConfigured(string name) =>
        name.Length is > 0 and <= 63 && !name.Contains('\0', StringComparison.Ordinal)
            ? "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : throw new ArgumentException("Not a valid role name.", nameof(name));

    [GeneratedRegex("^[a-z][a-z0-9_]{0,62}$")]
    private static partial Regex Safe();
}
