using System.Buffers;
using System.IO.Pipelines;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using MimeKit;
using Monolith.Tenancy;
using Npgsql;
using SmtpServer;
using SmtpServer.ComponentModel;
using SmtpServer.IO;
using SmtpServer.Net;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Monolith.Bench;

/// <summary>
/// <c>Monolith.Bench mail APP OWNER MAILS TENANTS LATENCY_MAILS</c>: the outbox delivered by the shipped host
/// (in process, running jobs) to a real SMTP server in this process (the SmtpServer package). Mails are queued as the
/// flows queue them (one INSERT into the tenant's mail_outbox in a transaction), commit and arrival timed on one clock.
/// <list type="number">
/// <item>Delay from commit to arrival: one mail per transaction, one after another 20 ms apart; with the wake-up on commit,
/// then with the recurring job alone (Mail:WakeOnCommit=false, the default schedule and Hangfire polling).</item>
/// <item>Throughput: MAILS committed in transactions of 100 into one tenant, then spread over TENANTS tenants; mails/s from
/// the first commit to the last arrival.</item>
/// </list>
/// </summary>
internal static class MailBench
{
    // Production refuses secrets published in the repository: these are made per run.
    private static readonly string PlatformKey = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
    private static readonly string SigningKey = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    public static async Task<int> RunAsync(string app, string owner, int mails, int tenantCount, int latencyMails)
    {
        await using var smtp = await Smtp.StartAsync();
        var identifiers = Enumerable.Range(1, Math.Max(1, tenantCount)).Select(i => $"mail-bench-{i}").ToArray();

        await using (var host = new Host(app, owner, smtp.Port, wakeOnCommit: true))
        {
            await host.ProvisionAsync(identifiers);
            // Warm up: JIT, pools, SMTP connection code.
            await MeasureLatencyAsync(smtp, owner, identifiers[0], 20, TimeSpan.FromMilliseconds(20));

            var wake = await MeasureLatencyAsync(smtp, owner, identifiers[0], latencyMails, TimeSpan.FromMilliseconds(20));
            Console.WriteLine($"delay commit -> SMTP arrival, wake-up on commit:   {Summary(wake)}");

            var single = await MeasureThroughputAsync(smtp, owner, identifiers[..1], mails);
            Console.WriteLine($"throughput, {mails} mails in 1 tenant:  {single:0} mails/s");
            var spread = await MeasureThroughputAsync(smtp, owner, identifiers, mails);
            Console.WriteLine($"throughput, {mails} mails in {identifiers.Length} tenants: {spread:0} mails/s");
        }

        await using (var host = new Host(app, owner, smtp.Port, wakeOnCommit: false))
        {
            _ = host.Server;
            var polled = await MeasureLatencyAsync(smtp, owner, identifiers[0], Math.Min(latencyMails, 20), TimeSpan.FromMilliseconds(500));
            Console.WriteLine($"delay commit -> SMTP arrival, recurring job alone: {Summary(polled)} (Mail:DeliverySeconds 5, Hangfire's default polling)");
        }

        return 0;
    }

    private static async Task<List<double>> MeasureLatencyAsync(Smtp smtp, string owner, string tenant, int count, TimeSpan gap)
    {
        var committed = new Dictionary<Guid, long>();
        await using var connection = await OpenTenantAsync(owner, tenant);
        for (var i = 0; i < count; i++)
        {
            var ids = await EnqueueAsync(connection, 1);
            committed[ids[0]] = Stopwatch.GetTimestamp();
            await Task.Delay(gap);
        }

        await smtp.WaitForAsync(committed.Keys, TimeSpan.FromMinutes(2));
        return committed.Select(c => Stopwatch.GetElapsedTime(c.Value, smtp.ArrivedAt(c.Key)).TotalMilliseconds).ToList();
    }

    private static async Task<double> MeasureThroughputAsync(Smtp smtp, string owner, string[] tenants, int count)
    {
        var connections = new List<NpgsqlConnection>();
        foreach (var tenant in tenants)
        {
            connections.Add(await OpenTenantAsync(owner, tenant));
        }

        var all = new List<Guid>();
        var started = Stopwatch.GetTimestamp();
        for (var queued = 0; queued < count; queued += 100)
        {
            all.AddRange(await EnqueueAsync(connections[queued / 100 % connections.Count], Math.Min(100, count - queued)));
        }

        var committedIn = Stopwatch.GetElapsedTime(started);
        await smtp.WaitForAsync(all, TimeSpan.FromMinutes(10));
        var last = all.Max(smtp.ArrivedAt);
        var seconds = Stopwatch.GetElapsedTime(started, last).TotalSeconds;
        Console.WriteLine($"  ({count} mails committed in {committedIn.TotalMilliseconds:0} ms, all arrived {seconds:0.00} s after the first commit)");
        foreach (var connection in connections)
        {
            await connection.DisposeAsync();
        }

        return count / seconds;
    }

    /// <summary>The owner role on the tenant's schema: the INSERT and its trigger are the flows' (MailOutbox.EnqueueAsync).</summary>
    private static async Task<NpgsqlConnection> OpenTenantAsync(string owner, string tenant)
    {
        var connection = new NpgsqlConnection(owner);
        await connection.OpenAsync();
        await using var path = new NpgsqlCommand($"SET search_path TO \"{TenantIdentifier.SchemaNameOf(tenant)}\"", connection);
        await path.ExecuteNonQueryAsync();
        return connection;
    }

    private static async Task<Guid[]> EnqueueAsync(NpgsqlConnection connection, int count)
    {
        var ids = Enumerable.Range(0, count).Select(_ => Guid.CreateVersion7()).ToArray();
        await using var transaction = await connection.BeginTransactionAsync();
        foreach (var id in ids)
        {
            await using var command = new NpgsqlCommand(
                "INSERT INTO mail_outbox (id, kind, recipient, subject, text_body, html_body) VALUES ($1, $2, $3, $4, $5, $6)", connection, transaction);
            command.Parameters.AddWithValue(id);
            command.Parameters.AddWithValue("invitation");
            command.Parameters.AddWithValue("someone@bench.example");
            command.Parameters.AddWithValue("You are invited");
            command.Parameters.AddWithValue($"Open http://localhost:5080/accept-invitation?tenant=t&token={id:N} to accept.");
            command.Parameters.AddWithValue($"<p><a href=\"http://localhost:5080/accept-invitation?tenant=t&amp;token={id:N}\">Accept</a></p>");
            await command.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return ids;
    }

    private static string Summary(List<double> milliseconds)
    {
        milliseconds.Sort();
        return $"n={milliseconds.Count} p50={Stats.Percentile(milliseconds, 50):0.0} ms p99={Stats.Percentile(milliseconds, 99):0.0} ms max={milliseconds[^1]:0.0} ms";
    }

    /// <summary>The shipped host in process, running jobs, sending to the bench's SMTP server.</summary>
    private sealed class Host(string app, string owner, int smtpPort, bool wakeOnCommit) : WebApplicationFactory<Program>
    {
        public async Task ProvisionAsync(string[] identifiers)
        {
            using var client = CreateClient();
            client.DefaultRequestHeaders.Add("X-Platform-Key", PlatformKey);
            foreach (var identifier in identifiers)
            {
                using var response = await client.PostAsJsonAsync("/platform/tenants",
                    new { identifier, name = identifier, ownerEmail = $"owner@{identifier}.example" });
                if (response.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.Conflict))
                {
                    throw new InvalidOperationException($"provisioning {identifier}: {(int)response.StatusCode}");
                }
            }
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Production");
            builder.UseContentRoot(AppContext.BaseDirectory);
            builder.UseSetting("ConnectionStrings:Monolith", app);
            builder.UseSetting("ConnectionStrings:MonolithOwner", owner);
            builder.UseSetting("Platform:ApiKey", PlatformKey);
            builder.UseSetting("Auth:SigningKey", SigningKey);
            builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
            builder.UseSetting("Mail:Smtp:Host", "127.0.0.1");
            builder.UseSetting("Mail:Smtp:Port", smtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
            builder.UseSetting("Mail:Smtp:Security", "None");
            builder.UseSetting("Mail:WakeOnCommit", wakeOnCommit ? "true" : "false");
        }
    }

    /// <summary>A real SMTP server on a free loopback port; notes when each Message-ID (an outbox id) arrived.</summary>
    private sealed class Smtp : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<Guid, long> arrived = new();
        private readonly CancellationTokenSource stop = new();
        private Task serving = Task.CompletedTask;

        public int Port { get; private init; }

        public static async Task<Smtp> StartAsync()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var smtp = new Smtp { Port = port };
            var options = new SmtpServerOptionsBuilder().ServerName("bench-smtp")
                .Endpoint(e => e.Endpoint(new IPEndPoint(IPAddress.Loopback, port))).Build();
            var services = new ServiceProvider();
            services.Add(new Store(smtp.arrived));
            if (Environment.GetEnvironmentVariable("MAIL_BENCH_NAGLE") != "1")
            {
                services.Add(new NoDelayListenerFactory());
            }

            smtp.serving = new SmtpServer.SmtpServer(options, services).StartAsync(smtp.stop.Token);
            await Task.Delay(200);
            return smtp;
        }

        public long ArrivedAt(Guid id) => arrived[id];

        public async Task WaitForAsync(IEnumerable<Guid> ids, TimeSpan timeout)
        {
            var waiting = ids.ToList();
            var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            while (waiting.Any(id => !arrived.ContainsKey(id)))
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException($"{waiting.Count(id => !arrived.ContainsKey(id))} of {waiting.Count} mails did not arrive");
                }

                await Task.Delay(5);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            try
            {
                await serving;
            }
            catch (OperationCanceledException)
            {
                // stopped
            }

            stop.Dispose();
        }

        /// <summary>
        /// The package's own listener leaves Nagle's algorithm on: MailKit pipelines MAIL, RCPT and DATA, the server's second
        /// reply then waits for the client's delayed ACK, and every mail costs 40 ms. Real relays answer at once; so does this.
        /// </summary>
        private sealed class NoDelayListenerFactory : IEndpointListenerFactory
        {
            public IEndpointListener CreateListener(IEndpointDefinition endpointDefinition)
            {
                var listener = new TcpListener(endpointDefinition.Endpoint);
                listener.Start();
                return new NoDelayListener(listener);
            }
        }

        private sealed class NoDelayListener(TcpListener listener) : IEndpointListener
        {
            public async Task<ISecurableDuplexPipe> GetPipeAsync(ISessionContext context, CancellationToken cancellationToken)
            {
                var socket = await listener.AcceptSocketAsync(cancellationToken);
                socket.NoDelay = true;
                context.Properties.Add(EndpointListener.LocalEndPointKey, socket.LocalEndPoint);
                context.Properties.Add(EndpointListener.RemoteEndPointKey, socket.RemoteEndPoint);
                return new PlainPipe(new NetworkStream(socket, ownsSocket: true));
            }

            public void Dispose() => listener.Stop();
        }

        /// <summary>Plain SMTP only (no STARTTLS): the pipe the package would make, over the socket above.</summary>
        private sealed class PlainPipe(NetworkStream stream) : ISecurableDuplexPipe
        {
            public PipeReader Input { get; } = PipeReader.Create(stream);

            public PipeWriter Output { get; } = PipeWriter.Create(stream);

            public bool IsSecure => false;

            public SslProtocols SslProtocol => SslProtocols.None;

            public Task UpgradeAsync(X509Certificate certificate, SslProtocols protocols, CancellationToken cancellationToken) =>
                throw new NotSupportedException("The in-process SMTP server speaks plain SMTP only.");

            public void Dispose() => stream.Dispose();
        }

        private sealed class Store(ConcurrentDictionary<Guid, long> arrived) : MessageStore
        {
            public override async Task<SmtpResponse> SaveAsync(
                ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
            {
                var at = Stopwatch.GetTimestamp();
                using var stream = new MemoryStream(buffer.ToArray());
                var headers = await HeaderList.LoadAsync(stream, cancellationToken);
                var messageId = headers[HeaderId.MessageId] ?? string.Empty;
                var id = messageId.Trim('<', '>').Split('@')[0];
                if (Guid.TryParse(id, out var guid))
                {
                    arrived.TryAdd(guid, at);
                }

                return SmtpResponse.Ok;
            }
        }
    }
}
