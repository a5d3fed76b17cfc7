using System.Globalization;
using FsCheck.Xunit;
using Monolith.Auditing.Logging;
using Monolith.Tests.Support;
using Npgsql;
using Serilog;
using Serilog.Context;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace Monolith.Tests.Logging;

[Trait("Category", Categories.Security)]
public sealed class LogMaskingTests
{
    [Theory]
    [InlineData("Password")]
    [InlineData("password")]
    [InlineData("NewPassword")]
    [InlineData("ownerPassword")]
    [InlineData("RefreshToken")]
    [InlineData("access_token")]
    [InlineData("Authorization")]
    [InlineData("X-Api-Key")]
    [InlineData("Platform__ApiKey")]
    [InlineData("SigningKey")]
    [InlineData("ClientSecret")]
    [InlineData("ConnectionString")]
    [InlineData("Cookie")]
    [InlineData("Pwd")]
    public void Properties_named_like_secrets_are_redacted(string name) =>
        Assert.Equal(LogMasker.Redacted, LogMasker.MaskNamedValue(name, "s3cr3t-value"));

    [Theory]
    [InlineData("Tenant")]
    [InlineData("RequestPath")]
    [InlineData("StatusCode")]
    [InlineData("Key")]
    [InlineData("FeatureKey")]
    [InlineData("SourceContext")]
    public void Ordinary_properties_are_kept(string name) =>
        Assert.Equal("plain value", LogMasker.MaskNamedValue(name, "plain value"));

    [Theory]
    [InlineData("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature", "eyJhbGci")]
    [InlineData("header Bearer abcdef123456789", "abcdef123456789")]
    [InlineData("Host=db;Username=app;Password=hunter2;Database=m", "hunter2")]
    [InlineData("Host=db;Pwd = 'quoted secret';Database=m", "quoted secret")]
    [InlineData("GET /callback?code=1&access_token=tok_live_123&x=2", "tok_live_123")]
    [InlineData("postgres://app:hunter2@db:5432/monolith", "hunter2")]
    [InlineData("apiKey: k-987654321", "k-987654321")]
    public void Secrets_are_masked_by_the_shape_of_the_value(string value, string secret)
    {
        var masked = LogMasker.MaskValue(value);
        Assert.DoesNotContain(secret, masked, StringComparison.Ordinal);
        Assert.Contains(LogMasker.Redacted, masked, StringComparison.Ordinal);
    }

    [Fact]
    public void Email_addresses_and_phone_numbers_in_values_are_masked()
    {
        var masked = LogMasker.MaskValue("created jane.doe@example.com with +4915112345678");
        Assert.Equal("created j***@example.com with +***78", masked);
    }

    [Fact]
    public void Properties_named_email_or_phone_are_masked_whatever_their_shape() =>
        Assert.Equal(("j***@example.com", "***34"), (LogMasker.MaskNamedValue("Email", "jane@example.com"), LogMasker.MaskNamedValue("Phone", "030 1234")));

    [Property(MaxTest = 300)]
    public bool Masked_values_never_contain_a_line_break(string? value) =>
        LogMasker.MaskValue(value ?? string.Empty).AsSpan().IndexOfAny('\r', '\n') < 0;

    [Property(MaxTest = 300)]
    public bool A_password_in_any_connection_string_is_masked(FsCheck.NonEmptyString password)
    {
        var secret = password.Get;
        if (secret.Any(c => c is < ' ' or > '~') || string.IsNullOrWhiteSpace(secret))
        {
            return true; // printable ASCII passwords only: what a configuration file holds
        }

        var connectionString = new NpgsqlConnectionStringBuilder { Host = "db", Username = "app", Password = secret, Database = "m" }.ConnectionString;
        var masked = new NpgsqlConnectionStringBuilder(LogMasker.MaskValue(connectionString));
        return masked.Password == LogMasker.Redacted && masked.Database == "m";
    }

    [Fact]
    public void The_enricher_masks_nested_structures_dictionaries_and_log_context_properties()
    {
        var (events, text) = Capture(logger =>
        {
            using (LogContext.PushProperty("Authorization", "Bearer abcdefghijkl"))
            {
                logger.Information("Signing in {@Login} with {Headers} as {Email}",
                    new { Email = "jane@example.com", Password = "hunter2", Nested = new { ApiKey = "k-1", Note = "line1\nline2" } },
                    new Dictionary<string, string> { ["Authorization"] = "Bearer abcdefghijkl", ["Accept"] = "json" },
                    "jane@example.com");
            }
        });

        var logged = events.Single();
        foreach (var secret in new[] { "hunter2", "k-1", "abcdefghijkl", "jane@example.com" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, LogRow.From(logged).Properties, StringComparison.Ordinal);
        }

        Assert.Contains("j***@example.com", text, StringComparison.Ordinal);
        using var json = System.Text.Json.JsonDocument.Parse(LogRow.From(logged).Properties);
        Assert.Equal("line1\\nline2", json.RootElement.GetProperty("Login").GetProperty("Nested").GetProperty("Note").GetString());
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void The_destructuring_policy_never_reads_a_secret_member_and_masks_connection_string_builders()
    {
        var (_, text) = Capture(logger => logger.Information("{@Settings} {@Builder}",
            new SecretBearingSettings(),
            new NpgsqlConnectionStringBuilder { Host = "db", Password = "hunter2" }));

        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        Assert.DoesNotContain("never-read", text, StringComparison.Ordinal);
        Assert.Contains("visible", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_that_tries_to_forge_a_log_line_stays_on_one_line()
    {
        var (_, text) = Capture(logger => logger.Information("User {Name} signed in", "eve\r\n[12:00:00 INF] admin signed in"));
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>The host's pipeline (masking last) rendered with the host's console template.</summary>
    internal static (IReadOnlyList<LogEvent> Events, string Text) Capture(Action<ILogger> log)
    {
        var sink = new CapturingSink();
        using (var logger = new LoggerConfiguration().MinimumLevel.Verbose().Enrich.FromLogContext().MaskSecrets().WriteTo.Sink(sink).CreateLogger())
        {
            log(logger);
        }

        return (sink.Events, sink.Text);
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822:Mark members as static",
        Justification = "The logger destructures instance properties; static ones would not be logged at all.")]
    private sealed class SecretBearingSettings
    {
        public string Name => "visible";

        public string ClientSecret => throw new InvalidOperationException("never-read: the policy must not call this getter");
    }
}

internal sealed class CapturingSink : Serilog.Core.ILogEventSink
{
    private readonly MessageTemplateTextFormatter formatter = new(Monolith.Host.Observability.ConsoleTemplate, CultureInfo.InvariantCulture);
    private readonly StringWriter writer = new(CultureInfo.InvariantCulture);
    private readonly List<LogEvent> events = [];

    public IReadOnlyList<LogEvent> Events
    {
        get
        {
            lock (events)
            {
                return events.ToArray();
            }
        }
    }

    public string Text
    {
        get
        {
            lock (events)
            {
                return writer.ToString();
            }
        }
    }

    public void Emit(LogEvent logEvent)
    {
        lock (events)
        {
            events.Add(logEvent);
            formatter.Format(logEvent, writer);
        }
    }
}
