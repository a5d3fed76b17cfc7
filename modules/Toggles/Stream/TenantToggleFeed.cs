using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Monolith.Tenancy.Catalog;

namespace Monolith.Toggles.Stream;

/// <summary>
/// One tenant's toggle changes on this instance, shared by all of its open streams. It keeps the tenant's toggle state
/// (definitions and overrides, read once when the first stream opens) and, when a notification names a key, reads that
/// key once and sends the difference to every subscriber: one read per change (or per burst of changes) for the tenant,
/// whatever the number of streams. A whole re-read (a <c>*</c> notification, a new listening connection, a failed read)
/// is diffed the same way, so nothing is reported twice and nothing that changed is left out.
/// </summary>
internal sealed partial class TenantToggleFeed : IDisposable
{
    /// <summary>More distinct keys than this waiting for a read: read everything instead.</summary>
    private const int MaxPendingKeys = 1000;

    private static readonly TimeSpan MinimumBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaximumBackoff = TimeSpan.FromSeconds(2);

    private readonly ToggleFeedReader reader;
    private readonly ILogger logger;
    private readonly Lock gate = new();
    private readonly HashSet<string> pendingKeys = new(StringComparer.Ordinal);
    private readonly Channel<bool> wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource stopping = new();
    private bool pendingAll = true;
    private TaskCompletionSource loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ToggleStreamSubscription[] subscribers = [];
    private Dictionary<string, ToggleKeyState>? state;
    private bool undefinedDefault;

    public TenantToggleFeed(TenantInfo tenant, ToggleFeedReader reader, ILogger logger)
    {
        Tenant = tenant;
        this.reader = reader;
        this.logger = logger;
        wake.Writer.TryWrite(true);
        _ = Task.Run(RunAsync);
    }

    public TenantInfo Tenant { get; }

    /// <summary>Completes once the tenant's state has been read: changes after that reach the subscribers.</summary>
    public Task Loaded
    {
        get
        {
            lock (gate)
            {
                return loaded.Task;
            }
        }
    }

    public int Count => Volatile.Read(ref subscribers).Length;

    public void Add(ToggleStreamSubscription subscription)
    {
        lock (gate)
        {
            subscribers = [.. subscribers, subscription];
        }
    }

    /// <summary>Removes the subscriber; returns how many are left.</summary>
    public int Remove(ToggleStreamSubscription subscription)
    {
        lock (gate)
        {
            subscribers = Array.FindAll(subscribers, s => !ReferenceEquals(s, subscription));
            return subscribers.Length;
        }
    }

    /// <summary>A notification named this key.</summary>
    public void Changed(string key)
    {
        lock (gate)
        {
            if (!pendingAll)
            {
                pendingKeys.Add(key);
                if (pendingKeys.Count > MaxPendingKeys)
                {
                    pendingAll = true;
                    pendingKeys.Clear();
                }
            }
        }

        wake.Writer.TryWrite(true);
    }

    /// <summary>What changed is unknown (a <c>*</c> notification, a new listening connection): read everything and diff.</summary>
    public void Resynchronise()
    {
        lock (gate)
        {
            pendingAll = true;
            pendingKeys.Clear();
        }

        wake.Writer.TryWrite(true);
    }

    public void Dispose()
    {
        stopping.Cancel();
        foreach (var subscription in Volatile.Read(ref subscribers))
        {
            subscription.Close(ToggleStreamSubscription.TenantGone);
        }
    }

    private async Task RunAsync()
    {
        var ct = stopping.Token;
        var backoff = MinimumBackoff;
        try
        {
            while (await wake.Reader.WaitToReadAsync(ct))
            {
                wake.Reader.TryRead(out _);
                bool all;
                string[] keys;
                lock (gate)
                {
                    all = pendingAll || state is null;
                    keys = all ? [] : [.. pendingKeys];
                    pendingAll = false;
                    pendingKeys.Clear();
                }

                if (!all && keys.Length == 0)
                {
                    continue;
                }

                try
                {
                    Publish(all ? await ReadAllAsync(ct) : await ReadKeysAsync(keys, ct));
                    backoff = MinimumBackoff;
                }
#pragma warning disable CA1031 // whatever failed, the feed must go on: it re-reads everything after a backoff
                catch (Exception e) when (!ct.IsCancellationRequested)
#pragma warning restore CA1031
                {
                    LogReadFailed(logger, Tenant.Identifier, e);
                    lock (gate)
                    {
                        if (state is null)
                        {
                            // The streams waiting for the first read fail (503); the next subscriber starts a new attempt.
                            loaded.TrySetException(e);
                            loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        }

                        pendingAll = true; // what the failed read would have said is unknown now
                    }

                    await Task.Delay(backoff, ct);
                    backoff = TimeSpan.FromTicks(Math.Min(MaximumBackoff.Ticks, backoff.Ticks * 2));
                    wake.Writer.TryWrite(true);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // the last stream left
        }
    }

    private async Task<List<ToggleChangeEvent>> ReadAllAsync(CancellationToken ct)
    {
        var (keys, newUndefinedDefault) = await reader.ReadAllAsync(Tenant, ct);
        var changes = new List<ToggleChangeEvent>();
        if (state is { } before)
        {
            foreach (var (key, old) in before)
            {
                ToggleChanges.Diff(key, old, keys.GetValueOrDefault(key), newUndefinedDefault, changes);
            }

            foreach (var (key, now) in keys)
            {
                if (!before.ContainsKey(key))
                {
                    ToggleChanges.Diff(key, null, now, newUndefinedDefault, changes);
                }
            }
        }

        state = keys;
        undefinedDefault = newUndefinedDefault;
        lock (gate)
        {
            loaded.TrySetResult();
        }

        return changes;
    }

    private async Task<List<ToggleChangeEvent>> ReadKeysAsync(string[] keys, CancellationToken ct)
    {
        var read = await reader.ReadKeysAsync(Tenant, keys, ct);
        var changes = new List<ToggleChangeEvent>();
        var before = state!;
        foreach (var key in keys)
        {
            var now = read.GetValueOrDefault(key);
            ToggleChanges.Diff(key, before.GetValueOrDefault(key), now, undefinedDefault, changes);
            if (now is null)
            {
                before.Remove(key);
            }
            else
            {
                before[key] = now;
            }
        }

        return changes;
    }

    private void Publish(List<ToggleChangeEvent> changes)
    {
        if (changes.Count == 0)
        {
            return;
        }

        foreach (var subscription in Volatile.Read(ref subscribers))
        {
            foreach (var change in changes)
            {
                if (!subscription.TryPublish(change))
                {
                    break;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The toggle stream of tenant {Tenant} could not read the changed toggles; retrying")]
    private static partial void LogReadFailed(ILogger logger, string tenant, Exception exception);
}
