using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Provisioning;
using Monolith.Tests.Auditing;
using Monolith.Tests.Support;
using Npgsql;
using Serilog.Core;

namespace Monolith.Tests.Access.Lifecycle;

/// <summary>A mail as its recipient read it from the SMTP server.</summary>
public sealed record AccountMail(string To, string Subject, string Text, string Html)
{
    /// <summary>The token of the mail's link (<c>…?tenant=…&amp;token=…</c>).</summary>
    public string Token => Regex.Match(Text, @"[?&]token=([A-Za-z0-9_\-%]+)").Groups[1].Value is { Length: > 0 } token
        ? Uri.UnescapeDataString(token)
        : throw new InvalidOperationException($"no link with a token in: {Text}");
}

/// <summary>
/// A host of its own for the users' lifecycle flows: a Hangfire server (one worker, so jobs run in the order they were
/// enqueued), a clock the tests move, every log event captured, and a real SMTP server in process that the host's mail
/// delivery sends to: the tests read each mail as its recipient would. Each test provisions a tenant of its own. (The
/// host delivers the due mail of every tenant of the shared database; the tests only read their own recipients'.)
/// </summary>
public sealed class UserLifecycleFixture : IAsyncLifetime
{
    public const string OwnerPassword = "owner-password-0123456789";

    private readonly HashSet<string> read = [];

    public InProcessSmtpServer Smtp { get; private set; } = null!;

    public CapturedLogs Logs { get; } = new();

    public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);

    public MonolithFactory Factory { get; private set; } = null!;

    public TestDatabase Database { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.Shared;
        Smtp = await InProcessSmtpServer.StartNewAsync();
        Factory = new MonolithFactory(
            Database.Connections,
            new Dictionary<string, string?>(Smtp.Settings)
            {
                ["Serilog:MinimumLevel:Default"] = "Verbose",
                ["Jobs:ServerEnabled"] = "true",
                ["Jobs:WorkerCount"] = "1",
                ["Jobs:QueuePollMilliseconds"] = "100",
                ["Jobs:SchedulePollMilliseconds"] = "200",
                ["Mail:LinkBaseUrl"] = "https://app.example.test",
            },
            services =>
            {
                services.AddSingleton<ILogEventSink>(Logs);
                services.AddSingleton<TimeProvider>(Clock);
            });
        _ = Factory.Server;
    }

    public async Task<TenantInfo> ProvisionAsync(string prefix)
    {
        var identifier = MonolithFixture.UniqueIdentifier(prefix);
        var result = await Factory.Services.GetRequiredService<TenantProvisioner>().CreateAsync(
            new CreateTenantCommand(identifier, identifier, OwnerEmail(identifier), OwnerPassword), CancellationToken.None);
        return result.Status == ProvisioningStatus.Done ? result.Tenant! : throw new InvalidOperationException($"provisioning {identifier}: {result.Status}");
    }

    public static string OwnerEmail(string tenant) => $"owner@{tenant}.test";

    public HttpClient Anonymous(TenantInfo tenant) => Factory.TenantClient(tenant.Identifier);

    public async Task<HttpClient> SignedInAsync(TenantInfo tenant, string email, string password)
    {
        var tokens = await Factory.LoginAsync(tenant.Identifier, email, password);
        return Anonymous(tenant).WithBearer(tokens.AccessToken);
    }

    public Task<HttpClient> OwnerAsync(TenantInfo tenant) => SignedInAsync(tenant, OwnerEmail(tenant.Identifier), OwnerPassword);

    /// <summary>A user of the role made by the owner (its verification mail read and left aside); signed in.</summary>
    public async Task<(TestUser User, HttpClient Client)> UserAsync(TenantInfo tenant, string role)
    {
        using var owner = await OwnerAsync(tenant);
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var email = $"{role}-{suffix}@{tenant.Identifier}.test";
        var password = $"password-{suffix}-long";
        var response = await owner.PostAsJsonAsync("/users", new { email, name = $"{role} {suffix}", role, password });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await MailAsync(tenant, email);
        return (new TestUser(id, email, password, role), await SignedInAsync(tenant, email, password));
    }

    /// <summary>The next mail to that address not read yet, as the SMTP server received it (waiting for its delivery).</summary>
    public async Task<AccountMail> MailAsync(TenantInfo tenant, string to, TimeSpan? timeout = null)
    {
        var message = await Smtp.WaitForAsync(m => IsTo(m, to) && Unread(m), timeout ?? TimeSpan.FromSeconds(15));
        lock (read)
        {
            read.Add(message.MessageId ?? string.Empty);
        }

        Assert.Contains(tenant.Identifier, message.TextBody, StringComparison.Ordinal);
        return new AccountMail(to, message.Subject ?? string.Empty, message.TextBody ?? string.Empty, message.HtmlBody ?? string.Empty);
    }

    /// <summary>How many mails to that address the flows wrote to the tenant's outbox so far (sent or not).</summary>
    public Task<long> MailCountAsync(TenantInfo tenant, string to) =>
        ScalarAsync<long>(tenant, "SELECT count(*) FROM mail_outbox WHERE lower(recipient) = lower($1)", to);

    /// <summary>Whether the SMTP server received anything for that address.</summary>
    public bool Received(string to) => Smtp.Messages.Any(m => IsTo(m, to));

    private static bool IsTo(MimeKit.MimeMessage message, string to) =>
        message.To.Mailboxes.Any(m => string.Equals(m.Address, to, StringComparison.OrdinalIgnoreCase));

    private bool Unread(MimeKit.MimeMessage message)
    {
        lock (read)
        {
            return message.MessageId is { } id && !read.Contains(id);
        }
    }

    /// <summary>A value of the tenant's schema, read as the superuser (for what the API does not show).</summary>
    public async Task<T> ScalarAsync<T>(TenantInfo tenant, string sql, params object[] values)
    {
        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        await using (var path = new NpgsqlCommand($"SET search_path = \"{tenant.SchemaName}\"", connection))
        {
            await path.ExecuteNonQueryAsync();
        }

        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values)
        {
            command.Parameters.AddWithValue(value);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    public static string Hours(int hours) => hours.ToString(CultureInfo.InvariantCulture);

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        await Smtp.DisposeAsync();
    }
}

/// <summary>The lifecycle test classes share one host (and its clock), one class at a time.</summary>
[CollectionDefinition(Name)]
public sealed class UserLifecycleCollection : ICollectionFixture<UserLifecycleFixture>
{
    public const string Name = "user-lifecycle";
}
