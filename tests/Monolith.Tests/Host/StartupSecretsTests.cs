using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Monolith.SharedKernel.Secrets;
using Monolith.Tests.Support;

namespace Monolith.Tests.Host;

/// <summary>CONTRACT §8 "Secrets": what Production refuses at start, one rule for every secret setting.</summary>
[Trait("Category", Categories.Security)]
public sealed partial class StartupSecretsTests
{
    private const string Strong = "a-strong-secret-of-our-own-3f9c1e7a5b2d4c6e8f0a";
    private const string StrongPassword = "pg-password-of-our-own-0c2e4a6b8d1f3e5a7c9b";

    private const string ComposePassword = "dev-only-postgres-password";

    public static TheoryData<string> ValueSettings => ["Platform__ApiKey", "Auth__SigningKey"];

    public static TheoryData<string> DatabaseSettings => ["ConnectionStrings__Monolith", "ConnectionStrings__MonolithOwner"];

    private static Dictionary<string, string?> StrongSettings() => new()
    {
        ["Platform:ApiKey"] = Strong,
        ["Auth:SigningKey"] = Strong + "-signing",
        ["ConnectionStrings:Monolith"] = $"Host=db;Username=monolith_app;Password={StrongPassword};Database=monolith",
        ["ConnectionStrings:MonolithOwner"] = $"Host=db;Username=monolith_owner;Password={StrongPassword}-owner;Database=monolith",
    };

    private static IReadOnlyList<string> ProblemsWith(string setting, string? value)
    {
        var settings = StrongSettings();
        settings[setting.Replace("__", ":", StringComparison.Ordinal)] = value;
        return StartupSecrets.Problems(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
    }

    [Fact]
    public void Strong_secrets_of_our_own_pass()
    {
        Assert.Empty(StartupSecrets.Problems(new ConfigurationBuilder().AddInMemoryCollection(StrongSettings()).Build()));
    }

    [Theory]
    [MemberData(nameof(ValueSettings))]
    public void A_missing_key_is_refused_naming_the_setting(string setting)
    {
        Assert.Contains(setting, Assert.Single(ProblemsWith(setting, null)), StringComparison.Ordinal);
        Assert.Contains(setting, Assert.Single(ProblemsWith(setting, "")), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ValueSettings))]
    public void A_key_shorter_than_32_characters_is_refused_without_showing_it(string setting)
    {
        const string shortKey = "0123456789abcdef0123456789abcde"; // 31
        var problem = Assert.Single(ProblemsWith(setting, shortKey));
        Assert.Contains(setting, problem, StringComparison.Ordinal);
        Assert.Contains("32", problem, StringComparison.Ordinal);
        Assert.DoesNotContain(shortKey, problem, StringComparison.Ordinal);
        Assert.Empty(ProblemsWith(setting, shortKey + "f"));
    }

    [Theory]
    [MemberData(nameof(ValueSettings))]
    public void Every_value_shipped_in_the_repository_is_refused_as_a_key(string setting)
    {
        foreach (var shipped in ShippedSecrets.All.Append("dev-only-anything-else-that-is-long-enough-0123456789"))
        {
            var problem = Assert.Single(ProblemsWith(setting, shipped));
            Assert.Contains(setting, problem, StringComparison.Ordinal);
            Assert.DoesNotContain(shipped, problem, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(DatabaseSettings))]
    public void A_database_password_that_is_missing_short_or_shipped_is_refused(string setting)
    {
        foreach (var connectionString in new[]
        {
            "Host=db;Username=monolith;Database=monolith",
            "Host=db;Username=monolith;Password=;Database=monolith",
            "Host=db;Username=monolith;Password=short-password;Database=monolith",
            $"Host=db;Port=5432;Database=monolith;Username=postgres;Password={ComposePassword}",
            $"Host=db;Username=monolith;PWD={ComposePassword}",
        })
        {
            var problem = Assert.Single(ProblemsWith(setting, connectionString));
            Assert.Contains(setting, problem, StringComparison.Ordinal);
            Assert.DoesNotContain("short-password", problem, StringComparison.Ordinal);
            Assert.DoesNotContain(ComposePassword, problem, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_request_role_connection_string_is_required_and_the_owner_one_only_checked_when_set()
    {
        Assert.Contains("ConnectionStrings__Monolith", Assert.Single(ProblemsWith("ConnectionStrings__Monolith", null)), StringComparison.Ordinal);
        Assert.Empty(ProblemsWith("ConnectionStrings__MonolithOwner", null));
    }

    [Fact]
    public void A_connection_string_that_cannot_be_read_is_refused_without_showing_it()
    {
        var problem = Assert.Single(ProblemsWith("ConnectionStrings__Monolith", "Host=db;Password='unterminated"));
        Assert.Contains("ConnectionStrings__Monolith", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("unterminated", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Outside_production_nothing_is_refused_and_in_production_every_problem_is_named_at_once()
    {
        var nothing = new Dictionary<string, string?>();
        Assert.NotNull(Builder(Environments.Development, nothing).RefuseWeakSecretsInProduction());

        var error = Assert.Throws<InvalidOperationException>(() => Builder(Environments.Production, nothing).RefuseWeakSecretsInProduction());
        foreach (var setting in new[] { "Platform__ApiKey", "Auth__SigningKey", "ConnectionStrings__Monolith" })
        {
            Assert.Contains(setting, error.Message, StringComparison.Ordinal);
        }

        Assert.NotNull(Builder(Environments.Production, StrongSettings()).RefuseWeakSecretsInProduction());
    }

    [Fact]
    public void The_host_refuses_to_start_in_production_with_the_compose_defaults_naming_each_setting()
    {
        // What docker-compose.yml gives the host when nothing overrides its defaults; nothing is reached: the host stops first.
        const string compose = $"Host=127.0.0.1;Port=1;Username=postgres;Password={ComposePassword};Database=none";
        using var factory = new MonolithFactory(
            new TestConnections(compose, compose, compose),
            new Dictionary<string, string?>
            {
                ["Platform:ApiKey"] = "dev-only-platform-key-do-not-use-in-production",
                ["Auth:SigningKey"] = "dev-only-signing-key-do-not-use-in-production-0123456789",
            },
            environment: Environments.Production);
        var error = Assert.ThrowsAny<Exception>(() => factory.Server);
        var messages = new List<string>();
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
        }

        var text = string.Join(" | ", messages);
        foreach (var setting in new[] { "Platform__ApiKey", "Auth__SigningKey", "ConnectionStrings__Monolith" })
        {
            Assert.Contains(setting, text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(ShippedSecrets.DevelopmentPrefix, text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_test_hosts_keys_are_on_the_shipped_list()
    {
        Assert.True(ShippedSecrets.IsShipped(MonolithFactory.PlatformKey));
        Assert.True(ShippedSecrets.IsShipped(MonolithFactory.SigningKey));
    }

    /// <summary>
    /// The list cannot drift: every secret-like value in docker-compose.yml (variable defaults, connection-string
    /// passwords, literal values of secret-named keys) and in host/appsettings*.json must be on it.
    /// </summary>
    [Fact]
    public void Every_secret_like_value_in_compose_and_appsettings_is_on_the_shipped_list()
    {
        var root = TestDatabase.RepositoryRoot();
        var found = new List<(string File, string Value)>();
        foreach (var file in Directory.EnumerateFiles(root, "docker-compose*.yml").Concat(Directory.EnumerateFiles(root, "compose*.yml")))
        {
            found.AddRange(SecretsInCompose(File.ReadAllText(file)).Select(v => (Path.GetFileName(file), v)));
        }

        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "host"), "appsettings*.json"))
        {
            using var json = JsonDocument.Parse(File.ReadAllText(file), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
            found.AddRange(SecretsInJson(json.RootElement, parent: null).Select(v => (Path.GetFileName(file), v)));
        }

        // The scan must see compose's three defaults, or it is not scanning anything.
        Assert.Contains(found, f => f.Value == ComposePassword);
        Assert.True(found.Count >= 3, $"only {found.Count} secret-like values found");
        var missing = found.Where(f => !ShippedSecrets.IsShipped(f.Value)).Select(f => $"{f.File}: {f.Value}").Distinct().ToList();
        Assert.True(missing.Count == 0, "add these to ShippedSecrets: " + string.Join(", ", missing));
    }

    [Fact]
    public void The_scan_finds_defaults_passwords_and_literal_secrets()
    {
        const string compose = """
            x-env: &env
              ConnectionStrings__Monolith: "Host=pg;Username=app;Password=${APP_PASSWORD:-dev-only-app}"
              ConnectionStrings__MonolithOwner: "Host=pg;Username=owner;Password=literal-owner-password"
              Auth__SigningKey: "${AUTH_SIGNING_KEY:-some-default-key}"
              SOME_TOKEN: plain-token-value
              ASPNETCORE_ENVIRONMENT: "${ASPNETCORE_ENVIRONMENT:-Development}"
            """;
        Assert.Equal(
            ["dev-only-app", "some-default-key", "literal-owner-password", "plain-token-value"],
            SecretsInCompose(compose).ToList());
    }

    private static IEnumerable<string> SecretsInCompose(string yaml)
    {
        // ${NAME:-default} where NAME says it is a secret
        foreach (Match m in VariableDefault().Matches(yaml))
        {
            if (SecretName().IsMatch(m.Groups["name"].Value) && m.Groups["value"].Value.Length > 0)
            {
                yield return m.Groups["value"].Value;
            }
        }

        // Password=literal inside connection strings
        foreach (Match m in ConnectionStringPassword().Matches(yaml))
        {
            if (!m.Groups["value"].Value.StartsWith("${", StringComparison.Ordinal))
            {
                yield return m.Groups["value"].Value;
            }
        }

        // KEY: literal, where KEY says it is a secret (connection strings were looked into above)
        foreach (Match m in YamlScalar().Matches(yaml))
        {
            var value = m.Groups["value"].Value.Trim().Trim('"', '\'');
            if (SecretName().IsMatch(m.Groups["key"].Value) && !m.Groups["key"].Value.StartsWith("ConnectionStrings", StringComparison.Ordinal)
                && value.Length > 0 && !value.Contains("${", StringComparison.Ordinal))
            {
                yield return value;
            }
        }
    }

    private static IEnumerable<string> SecretsInJson(JsonElement element, string? parent)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.String && property.Value.GetString() is { Length: > 0 } value)
                {
                    if (parent == "ConnectionStrings")
                    {
                        foreach (Match m in ConnectionStringPassword().Matches(value))
                        {
                            yield return m.Groups["value"].Value;
                        }
                    }
                    else if (SecretName().IsMatch(property.Name))
                    {
                        yield return value;
                    }
                }
                else
                {
                    foreach (var inner in SecretsInJson(property.Value, property.Name))
                    {
                        yield return inner;
                    }
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                foreach (var inner in SecretsInJson(item, parent))
                {
                    yield return inner;
                }
            }
        }
    }

    private static HostApplicationBuilder Builder(string environment, Dictionary<string, string?> settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            EnvironmentName = environment,
            DisableDefaults = true,
        });
        builder.Configuration.AddInMemoryCollection(settings);
        return builder;
    }

    [GeneratedRegex(@"\$\{(?<name>[A-Za-z0-9_]+):?-(?<value>[^}]*)\}")]
    private static partial Regex VariableDefault();

    [GeneratedRegex(@"(?i)(?:^|[;""\s])(?:password|pwd|psw)\s*=\s*(?<value>[^;""\s]+)")]
    private static partial Regex ConnectionStringPassword();

    [GeneratedRegex(@"(?m)^\s*(?<key>[A-Za-z0-9_]+)\s*:\s*(?<value>[^\n#]+)$")]
    private static partial Regex YamlScalar();

    [GeneratedRegex(@"(?i)(password|passwd|secret|token|apikey|api_key|signingkey|signing_key|privatekey|private_key)")]
    private static partial Regex SecretName();
}
