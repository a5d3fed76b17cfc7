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

/// <summary>A mail as its recipient reads it.</summary>
public sealed record ReceivedMail(string To, string Subject, string Text, string Html)
{
    /// <summary>The token of the mail's link (<c>…?tenant=…&amp;token=…</c>).</summary>
    public string Token => Regex.Match(Text, @"[?&]token=([A-Za-z0-9_\-%]+)").Groups[1].Value is { Length: > 0 } token
        ? Uri.UnescapeDataString(token)
        : throw new InvalidOperationException($"no link with a token in: {Text}");
}

/// <summary>
/// A host of its own for the users' lifecycle flows: a Hangfire server (one worker, so jobs run in the order they were
/// enqueued), a clock the tests move, every log event captured, and the mail the flows send read back as it was sent.
/// Each test provisions a tenant of its own.
/// </summary>
public sealed class UserLifecycleFixture : IAsyncLifetime
{
    public const string OwnerPassword = "owner-password-0123456789";

    private readonly HashSet<Guid> read = [];

    public CapturedLogs Logs { get; } = new();

    public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);

    public MonolithFactory Factory { get; private set; } = null!;

    public TestDatabase Database { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.Shared;
        Factory = new MonolithFactory(
            Database.Connections,
            new Dictionary<string, string?>
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

    /// <summary>The next mail to that address not read yet, waiting for its delivery.</summary>
    public async Task<ReceivedMail> MailAsync(TenantInfo tenant, string to, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var mails = await OutboxAsync(tenant, to);
            foreach (var (id, mail) in mails.Where(m => !read.Contains(m.Id)))
            {
                read.Add(id);
                return mail;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no mail to {to} within the time allowed");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Every mail to that address so far (read or not).</summary>
    public async Task<int> MailCountAsync(TenantInfo tenant, string to) => (await OutboxAsync(tenant, to)).Count;

    private async Task<List<(Guid Id, ReceivedMail Mail)>> OutboxAsync(TenantInfo tenant, string to)
    {
        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT id, recipient, subject, text_body, html_body FROM \"{tenant.SchemaName}\".mail_outbox WHERE lower(recipient) = lower($1) ORDER BY id",
            connection);
        command.Parameters.AddWithValue(to);
        await using var reader = await command.ExecuteReaderAsync();
        var mails = new List<(Guid, ReceivedMail)>();
        while (await reader.ReadAsync())
        {
            mails.Add((reader.GetGuid(0), new ReceivedMail(reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4))));
        }

        return mails;
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

    public async Task DisposeAsync() => await Factory.DisposeAsync();
}

/// <summary>The lifecycle test classes share one host (and its clock), one class at a time.</summary>
[CollectionDefinition(Name)]
public sealed class UserLifecycleCollection : ICollectionFixture<UserLifecycleFixture>
{
    public const string Name = "user-lifecycle";
}
