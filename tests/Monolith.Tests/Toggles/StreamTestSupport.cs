using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tenancy.Provisioning;
using Monolith.Tests.Access;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Toggles;

/// <summary>
/// Two host instances on the run's database for the stream tests, and two tenants of their own. Host A sends keep-alive
/// comments every <see cref="KeepAliveMilliseconds"/>, has a short request time limit and two concurrency slots per
/// tenant (streams must outlive and bypass both), and names its request pool's connections
/// <see cref="HostAApplicationName"/> so its database connections can be counted.
/// </summary>
public sealed class StreamHostsFixture : IAsyncLifetime
{
    public const int KeepAliveMilliseconds = 300;
    // Short enough that the stream test outlives it within its budget, long enough that ordinary setup requests on a
    // loaded 2-core machine never meet it (1.5 s did, once: a POST /customers answered 503 request-timeout).
    public const int RequestTimeoutMilliseconds = 4000;
    public const string HostAApplicationName = "stream-tests-host-a";

    public MonolithFactory A { get; private set; } = null!;

    public MonolithFactory B { get; private set; } = null!;

    public TestConnections Connections { get; private set; } = null!;

    public string First { get; private set; } = null!;

    public string Second { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var database = await TestDatabase.Shared;
        Connections = database.Connections;
        A = new MonolithFactory(Connections, new Dictionary<string, string?>
        {
            ["ConnectionStrings:Monolith"] = new NpgsqlConnectionStringBuilder(Connections.App) { ApplicationName = HostAApplicationName }.ConnectionString,
            ["Toggles:StreamKeepAliveMilliseconds"] = KeepAliveMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Tenancy:RequestTimeoutMs"] = RequestTimeoutMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Tenancy:MaxConcurrency"] = "2",
        });
        B = new MonolithFactory(Connections);
        _ = A.Server;
        _ = B.Server;
        await SecondHostFixture.ListeningAsync(A);
        await SecondHostFixture.ListeningAsync(B);
        First = await ProvisionAsync("stream-a");
        Second = await ProvisionAsync("stream-b");
    }

    public async Task DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
    }

    /// <summary>A client of the tenant on the host, signed in as its owner.</summary>
    public static async Task<HttpClient> OwnerAsync(MonolithFactory host, string tenant)
    {
        var tokens = await host.LoginAsync(tenant, MonolithFixture.OwnerEmail(tenant), MonolithFixture.OwnerPassword);
        return host.TenantClient(tenant).WithBearer(tokens.AccessToken);
    }

    /// <summary>
    /// A fresh user of the role (created by the owner on host B, whose request time limit is the default: setup is not
    /// what host A's short limit is for, and a loaded machine once ran a POST /users past it); returns the user and a first
    /// login's tokens, which both hosts accept.
    /// </summary>
    public async Task<(TestUser User, TestTokens Tokens)> UserAsync(string tenant, string role)
    {
        using var owner = await OwnerAsync(B, tenant);
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var email = $"{role}-{suffix}@{tenant}.test";
        var password = $"test-password-{suffix}";
        var response = await owner.PostAsJsonAsync("/users", new { email, name = $"{role} {suffix}", role, password });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var user = new TestUser(id, email, password, role);
        return (user, await B.LoginAsync(tenant, email, password));
    }

    private async Task<string> ProvisionAsync(string prefix)
    {
        var identifier = MonolithFixture.UniqueIdentifier(prefix);
        var result = await A.Services.GetRequiredService<TenantProvisioner>().CreateAsync(
            new CreateTenantCommand(identifier, identifier, MonolithFixture.OwnerEmail(identifier), MonolithFixture.OwnerPassword), CancellationToken.None);
        return result.Status == ProvisioningStatus.Done ? identifier : throw new InvalidOperationException($"provisioning {identifier}: {result.Status}");
    }
}

/// <summary>One message of an SSE stream: an event (type and data) or a comment.</summary>
public sealed record SseMessage(string? EventType, string? Data, string? Comment)
{
    public JsonElement Json => JsonDocument.Parse(Data!).RootElement;
}

/// <summary>
/// A test client's open <c>GET /features/stream</c>: reads the response in the background and hands out its messages.
/// <see cref="Ended"/> completes when the server ends the stream.
/// </summary>
public sealed class SseStream : IAsyncDisposable
{
    private readonly HttpResponseMessage response;
    private readonly Channel<SseMessage> messages = Channel.CreateUnbounded<SseMessage>();
    private readonly CancellationTokenSource stop = new();
    private readonly List<SseMessage> seen = [];

    private SseStream(HttpResponseMessage response)
    {
        this.response = response;
        Ended = Task.Run(ReadAsync);
    }

    public Task Ended { get; }

    /// <summary>Every message received so far (whatever the waits took).</summary>
    public IReadOnlyList<SseMessage> Seen
    {
        get
        {
            lock (seen)
            {
                return [.. seen];
            }
        }
    }

    public static async Task<HttpResponseMessage> RequestAsync(HttpClient client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/features/stream");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>Opens the stream; asserts 200 text/event-stream and waits for the server's opening comment (it is subscribed then).</summary>
    public static async Task<SseStream> OpenAsync(HttpClient client)
    {
        var response = await RequestAsync(client);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            // Only a refusal has a body that ends: a stream's would be read for ever.
            Assert.Fail($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var stream = new SseStream(response);
        Assert.NotNull(await stream.NextAsync(m => m.Comment == "open", TimeSpan.FromSeconds(10)));
        return stream;
    }

    /// <summary>The next message that matches, or null when none came before the deadline or the stream ended.</summary>
    public async Task<SseMessage?> NextAsync(Func<SseMessage, bool> match, TimeSpan deadline)
    {
        using var timeout = new CancellationTokenSource(deadline);
        try
        {
            while (await messages.Reader.WaitToReadAsync(timeout.Token))
            {
                while (messages.Reader.TryRead(out var message))
                {
                    if (match(message))
                    {
                        return message;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        return null;
    }

    /// <summary>The next <c>toggle</c> event for the key.</summary>
    public Task<SseMessage?> NextToggleAsync(string key, TimeSpan deadline) =>
        NextAsync(m => m.EventType == "toggle" && m.Json.GetProperty("key").GetString() == key, deadline);

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        response.Dispose();
        try
        {
            await Ended;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or HttpRequestException)
        {
        }
        catch (InvalidOperationException)
        {
            // The response's disposal completed the body's pipe while a read was under way (seen on a loaded machine).
        }

        stop.Dispose();
    }

    private async Task ReadAsync()
    {
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(stop.Token);
            using var reader = new StreamReader(body);
            string? eventType = null;
            string? data = null;
            while (await reader.ReadLineAsync(stop.Token) is { } line)
            {
                if (line.Length == 0)
                {
                    if (data is not null)
                    {
                        Add(new SseMessage(eventType ?? "message", data, null));
                    }

                    (eventType, data) = (null, null);
                }
                else if (line.StartsWith(':'))
                {
                    Add(new SseMessage(null, null, line[1..].Trim()));
                }
                else if (line.StartsWith("event:", StringComparison.Ordinal))
                {
                    eventType = line["event:".Length..].Trim();
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    data = data is null ? line["data:".Length..].TrimStart() : data + "\n" + line["data:".Length..].TrimStart();
                }
            }
        }
        finally
        {
            messages.Writer.TryComplete();
        }
    }

    private void Add(SseMessage message)
    {
        lock (seen)
        {
            seen.Add(message);
        }

        messages.Writer.TryWrite(message);
    }
}
