using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using MimeKit;
using SmtpServer;
using SmtpServer.ComponentModel;
using SmtpServer.IO;
using SmtpServer.Net;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Monolith.Tests.Support;

/// <summary>
/// A real SMTP server (the SmtpServer package) on 127.0.0.1 in the test process, recording every message it accepts,
/// parsed (<see cref="Messages"/>). <see cref="StopAsync"/> and <see cref="StartAsync()"/> simulate an outage: while
/// stopped, connections to <see cref="Port"/> are refused; it starts again on the same port. Point a host at it with
/// <see cref="Settings"/>.
/// </summary>
public sealed class InProcessSmtpServer : IAsyncDisposable
{
    private readonly Lock gate = new();
    private readonly List<ReceivedMail> received = [];
    private CancellationTokenSource? running;
    private Task? serving;

    private InProcessSmtpServer(int port) => Port = port;

    public static string Host => "127.0.0.1";

    public int Port { get; }

    public bool IsRunning => running is not null;

    /// <summary>Every message received so far, in arrival order.</summary>
    public IReadOnlyList<MimeMessage> Messages
    {
        get
        {
            lock (gate)
            {
                return received.Select(r => r.Message).ToList();
            }
        }
    }

    /// <summary>Every message received so far with its SMTP envelope.</summary>
    public IReadOnlyList<ReceivedMail> Received
    {
        get
        {
            lock (gate)
            {
                return received.ToList();
            }
        }
    }

    /// <summary>The host settings that send mail here (plain SMTP, no login).</summary>
    public IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Mail:Smtp:Host"] = Host,
        ["Mail:Smtp:Port"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Mail:Smtp:Security"] = "None",
    };

    /// <summary>A server on a free port, accepting connections when this returns.</summary>
    public static async Task<InProcessSmtpServer> StartNewAsync()
    {
        var server = new InProcessSmtpServer(FreePort());
        await server.StartAsync();
        return server;
    }

    /// <summary>Starts (again) on <see cref="Port"/>; returns once it accepts connections.</summary>
    public async Task StartAsync()
    {
        if (running is not null)
        {
            return;
        }

        var options = new SmtpServerOptionsBuilder()
            .ServerName("monolith-test-smtp")
            .Endpoint(endpoint => endpoint.Endpoint(new IPEndPoint(IPAddress.Loopback, Port)))
            .Build();
        var services = new ServiceProvider();
        services.Add(new RecordingStore(this));
        services.Add(new NoDelayListenerFactory());
        var server = new SmtpServer.SmtpServer(options, services);
        running = new CancellationTokenSource();
        serving = server.StartAsync(running.Token);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await AcceptsAsync())
        {
            if (serving.IsCompleted || DateTime.UtcNow > deadline)
            {
                await serving; // its failure, if it has one
                throw new InvalidOperationException($"The test SMTP server did not listen on port {Port}.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Stops listening and drops open sessions: from now on connections are refused until <see cref="StartAsync()"/>.</summary>
    public async Task StopAsync()
    {
        if (running is null)
        {
            return;
        }

        await running.CancelAsync();
        try
        {
            await serving!;
        }
        catch (OperationCanceledException)
        {
            // stopped
        }

        running.Dispose();
        running = null;
        serving = null;
    }

    /// <summary>Forgets what was received.</summary>
    public void Clear()
    {
        lock (gate)
        {
            received.Clear();
        }
    }

    /// <summary>The first message matching <paramref name="predicate"/>, waiting for it up to <paramref name="timeout"/> (default 30 s).</summary>
    public async Task<MimeMessage> WaitForAsync(Func<MimeMessage, bool> predicate, TimeSpan? timeout = null) =>
        (await WaitForCountAsync(1, predicate, timeout))[0];

    /// <summary>Waits until at least <paramref name="count"/> messages match (all received messages when no predicate); returns the matches.</summary>
    public async Task<IReadOnlyList<MimeMessage>> WaitForCountAsync(int count, Func<MimeMessage, bool>? predicate = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var matches = Messages.Where(predicate ?? (_ => true)).ToList();
            if (matches.Count >= count)
            {
                return matches;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(
                    $"Expected {count} matching message(s) at the test SMTP server, found {matches.Count} among {Messages.Count}: " +
                    string.Join("; ", Messages.Select(m => $"{m.MessageId} to {m.To} '{m.Subject}'")));
            }

            await Task.Delay(25);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<bool> AcceptsAsync()
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private void Add(ReceivedMail mail)
    {
        lock (gate)
        {
            received.Add(mail);
        }
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

    private sealed class RecordingStore(InProcessSmtpServer server) : MessageStore
    {
        public override async Task<SmtpResponse> SaveAsync(
            ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            using var stream = new MemoryStream(buffer.ToArray());
            var message = await MimeMessage.LoadAsync(stream, cancellationToken);
            server.Add(new ReceivedMail(
                message,
                transaction.From is { } from ? $"{from.User}@{from.Host}" : string.Empty,
                transaction.To.Select(to => $"{to.User}@{to.Host}").ToList(),
                DateTimeOffset.UtcNow));
            return SmtpResponse.Ok;
        }
    }
}

/// <summary>A message as the test SMTP server received it: parsed, with the envelope's sender and recipients.</summary>
public sealed record ReceivedMail(MimeMessage Message, string EnvelopeFrom, IReadOnlyList<string> EnvelopeTo, DateTimeOffset ReceivedAt);
