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

    /// <summary>
    /// The DDL of an empty tenant schema with its role (names already quoted): the role is NOLOGIN and NOINHERIT, the owner
    /// role (CURRENT_USER) is its member, and it may only use the schema. Tenants, spares and the template alike.
    /// </summary>
    public static string SchemaAndRoleDdl(string schema, string role) =>
        $"""
         CREATE ROLE {role} NOLOGIN NOINHERIT;
         GRANT {role} TO CURRENT_USER;
         CREATE SCHEMA {schema};
         REVOKE ALL ON SCHEMA {schema} FROM PUBLIC;
         GRANT USAGE ON SCHEMA {schema} TO {role};

         """;
}
