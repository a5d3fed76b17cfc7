using System.Data.Common;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace Monolith.SharedKernel.Secrets;

/// <summary>
/// The one start-up validation of the host's secrets (CONTRACT §8 "Secrets"): in Production the platform key, the
/// signing key and the database passwords must be set, at least <see cref="MinimumLength"/> characters long, and
/// none of the <see cref="ShippedSecrets"/>. Messages name the setting, never its value.
/// </summary>
public static class StartupSecrets
{
    public const int MinimumLength = 32;

    public static readonly Secret PlatformApiKey = new("Platform__ApiKey", SecretKind.Value, Required: true);

    public static readonly Secret SigningKey = new("Auth__SigningKey", SecretKind.Value, Required: true);

    /// <summary>The request path's database role.</summary>
    public static readonly Secret RequestDatabase = new("ConnectionStrings__Monolith", SecretKind.ConnectionStringPassword, Required: true);

    /// <summary>The owner role (migrations, provisioning, the CLI): checked when it is configured.</summary>
    public static readonly Secret OwnerDatabase = new("ConnectionStrings__MonolithOwner", SecretKind.ConnectionStringPassword, Required: false);

    public static IReadOnlyList<Secret> All { get; } = [PlatformApiKey, SigningKey, RequestDatabase, OwnerDatabase];

    /// <summary>Refuses to build the host in Production when any secret is weak; one message lists them all. Elsewhere nothing.</summary>
    public static IHostApplicationBuilder RefuseWeakSecretsInProduction(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Environment.IsProduction() && Problems(builder.Configuration) is { Count: > 0 } problems)
        {
            throw new InvalidOperationException(
                $"The host refuses to start in Production with weak secrets: {string.Join(" ", problems)}");
        }

        return builder;
    }

    /// <summary>What is wrong with each configured secret (empty when all are fine), one sentence per setting.</summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        foreach (var secret in All)
        {
            if (Problem(secret, configuration[secret.ConfigurationKey]) is { } problem)
            {
                problems.Add(problem);
            }
        }

        return problems;
    }

    /// <summary>The rule, for one setting's configured value (a connection string for the database secrets); null when it holds.</summary>
    public static string? Problem(Secret secret, string? configured)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (string.IsNullOrEmpty(configured))
        {
            var expected = secret.Kind == SecretKind.ConnectionStringPassword
                ? $"a connection string with a password of at least {MinimumLength} characters"
                : $"a secret of at least {MinimumLength} characters";
            return secret.Required ? $"{secret.Setting} is not set; it must be {expected}." : null;
        }

        var what = secret.Setting;
        var value = configured;
        if (secret.Kind == SecretKind.ConnectionStringPassword)
        {
            what = $"The password in {secret.Setting}";
            if (!TryReadPassword(configured, out var password))
            {
                return $"{secret.Setting} is not a valid connection string.";
            }

            if (string.IsNullOrEmpty(password))
            {
                return $"{secret.Setting} has no password; the database role must have one of at least {MinimumLength} characters.";
            }

            value = password;
        }

        if (ShippedSecrets.IsShipped(value))
        {
            return $"{what} is a value published in this repository (a development or test default); set a secret of your own.";
        }

        return value.Length < MinimumLength
            ? $"{what} is shorter than {MinimumLength} characters."
            : null;
    }

    /// <summary>The password of an ADO.NET connection string (Npgsql's keywords: Password, or its synonyms PWD and PSW).</summary>
    private static bool TryReadPassword(string connectionString, out string? password)
    {
        password = null;
        DbConnectionStringBuilder builder;
        try
        {
            builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
        }
        catch (ArgumentException)
        {
            return false;
        }

        foreach (var keyword in (string[])["Password", "PWD", "PSW"])
        {
            if (builder.TryGetValue(keyword, out var value) && value?.ToString() is { Length: > 0 } text)
            {
                password = text;
                return true;
            }
        }

        return true;
    }
}

public enum SecretKind
{
    /// <summary>The setting is the secret.</summary>
    Value,

    /// <summary>The setting is a connection string; its password is the secret.</summary>
    ConnectionStringPassword,
}

/// <summary>A secret setting, named as an operator sets it in the environment (<c>Section__Key</c>).</summary>
public sealed record Secret(string Setting, SecretKind Kind, bool Required)
{
    /// <summary>The same setting as a configuration key (<c>Section:Key</c>).</summary>
    public string ConfigurationKey => Setting.Replace("__", ":", StringComparison.Ordinal);
}
