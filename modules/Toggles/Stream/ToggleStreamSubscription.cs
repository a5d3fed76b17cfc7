using System.Threading.Channels;

namespace Monolith.Toggles.Stream;

/// <summary>
/// One open stream's queue: bounded (<see cref="TogglesOptions.StreamQueueCapacity"/>). A client that falls that far
/// behind is closed rather than served with gaps (dropping events would leave it silently wrong); it reconnects and reads
/// the state again. So a slow client costs at most the queue and the server's response buffer.
/// </summary>
internal sealed class ToggleStreamSubscription : IDisposable
{
    public const string Lagging = "the client fell behind; reconnect and read the toggles again";
    public const string TenantGone = "the tenant's feed on this instance was replaced";

    private readonly Channel<ToggleChangeEvent> queue;
    private readonly CancellationTokenSource closed = new();
    private readonly Action<ToggleStreamSubscription> unsubscribe;
    private string? closeReason;
    private int disposed;

    public ToggleStreamSubscription(int capacity, Action<ToggleStreamSubscription> unsubscribe)
    {
        queue = Channel.CreateBounded<ToggleChangeEvent>(new BoundedChannelOptions(Math.Max(1, capacity))
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails on a full queue: the laggard is closed
            SingleReader = true,
            SingleWriter = true,
        });
        Closed = closed.Token;
        this.unsubscribe = unsubscribe;
    }

    public ChannelReader<ToggleChangeEvent> Events => queue.Reader;

    /// <summary>Cancelled when the server closes this stream (it fell behind, or its feed went away).</summary>
    public CancellationToken Closed { get; }

    public string? CloseReason => Volatile.Read(ref closeReason);

    /// <summary>Queues a change; false (and the stream closed) when the queue is full.</summary>
    public bool TryPublish(ToggleChangeEvent change)
    {
        if (queue.Writer.TryWrite(change))
        {
            return true;
        }

        Close(Lagging);
        return false;
    }

    public void Close(string reason)
    {
        if (Interlocked.CompareExchange(ref closeReason, reason, null) is not null)
        {
            return;
        }

        queue.Writer.TryComplete();
        try
        {
            closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // the stream already ended
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        unsubscribe(this);
        queue.Writer.TryComplete();
        closed.Dispose();
    }
}
