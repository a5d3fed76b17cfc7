namespace Monolith.Tenancy;

/// <summary>
/// The rules for a tenant identifier (CONTRACT §3) and the names derived from it. An identifier that
/// passes <see cref="Validate"/> maps one-to-one onto a PostgreSQL schema name ('-' becomes '_', which
/// identifiers cannot contain), so no two tenants can share a schema.
/// </summary>
public static class TenantIdentifier
{
    public const int MinLength = 3;
    public const int MaxLength = 63;

    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
    {
        "platform", "public", "admin", "api", "www", "hangfire", "logs", "information-schema",
        "postgres", "template0", "template1", "root", "system", "default", "auth", "docs", "health",
        "openapi", "static", "assets", "mail", "status", "tenant", "tenants", "monolith",
    };

    /// <summary>Null when valid, otherwise one sentence saying which rule the value breaks.</summary>
    public static string? Validate(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "identifier is required.";
        }

        if (value.Length is < MinLength or > MaxLength)
        {
            return $"identifier must be {MinLength} to {MaxLength} characters long.";
        }

        foreach (var c in value)
        {
            if (!(c is >= 'a' and <= 'z' || c is >= '0' and <= '9' || c == '-'))
            {
                return "identifier may contain only lowercase letters a-z, digits and '-'.";
            }
        }

        if (value[0] is < 'a' or > 'z')
        {
            return "identifier must start with a letter.";
        }

        if (value[^1] == '-')
        {
            return "identifier must not end with '-'.";
        }

        if (Reserved.Contains(value) || value.StartsWith("pg-", StringComparison.Ordinal))
        {
            return $"identifier '{value}' is reserved.";
        }

        return null;
    }

    public static bool IsValid(string? value) => Validate(value) is null;

    /// <summary>The schema of a valid identifier: the same characters with '-' as '_'.</summary>
    public static string SchemaNameOf(string identifier) => identifier.Replace('-', '_');

    /// <summary>Roles are cluster-wide, so they are named after the tenant's id, not its identifier.</summary>
    public static string RoleNameOf(Guid tenantId) => "t_" + tenantId.ToString("N");
}
