namespace Monolith.SharedKernel.Secrets;

/// <summary>
/// Every secret-like value committed to this repository: published, so never a secret. Production refuses each
/// of them (CONTRACT §8). <c>ShippedSecretsTests</c> scans docker-compose.yml and the appsettings files and fails
/// when one of their values is missing here, so this list cannot drift from what ships.
/// </summary>
public static class ShippedSecrets
{
    /// <summary>The naming convention for development defaults (docker-compose.yml): anything so named is refused too.</summary>
    public const string DevelopmentPrefix = "dev-only-";

    private static readonly HashSet<string> Values = new(StringComparer.Ordinal)
    {
        // docker-compose.yml defaults (POSTGRES_PASSWORD, MONOLITH_OWNER_PASSWORD, MONOLITH_APP_PASSWORD, PLATFORM_API_KEY, AUTH_SIGNING_KEY)
        "dev-only-postgres-password",
        "dev-only-owner-password-do-not-use-in-production",
        "dev-only-app-password-do-not-use-in-production",
        "dev-only-platform-key-do-not-use-in-production",
        "dev-only-signing-key-do-not-use-in-production-0123456789",

        // tests/Monolith.Tests/Support/MonolithFactory.cs (the test host's keys)
        "test-platform-key-0123456789abcdef0123456789",
        "test-signing-key-0123456789abcdef0123456789abcdef",
    };

    public static IReadOnlyCollection<string> All => Values;

    /// <summary>True for a value this repository publishes (the list above, or any <see cref="DevelopmentPrefix"/> value).</summary>
    public static bool IsShipped(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Values.Contains(value) || value.StartsWith(DevelopmentPrefix, StringComparison.Ordinal);
    }
}
