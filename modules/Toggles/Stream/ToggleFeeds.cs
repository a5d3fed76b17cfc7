using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Notifications;
using Monolith.Toggles.Evaluation;
using Npgsql;

namespace Monolith.Toggles.Stream;

/// <summary>
/// The instance's toggle feeds, one per tenant with open streams, fed by the instance's LISTEN hub
/// (an <see cref="IChangeSubscriber"/> of <see cref="ToggleChangeListener.Channel"/>): the tables'
/// triggers notify "&lt;schema&gt;:&lt;key&gt;" whatever path made the change (any instance, the CLI, a job, SQL). A feed
/// lives while it has streams; the last stream to leave ends it.
/// </summary>
internal sealed class ToggleFeeds(ToggleFeedReader reader, IOptions<TogglesOptions> options, ILogger<TenantToggleFeed> logger)
    : IChangeSubscriber, IDisposable
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, TenantToggleFeed> feedsBySchema = new(StringComparer.Ordinal);

    string IChangeSubscriber.Channel => ToggleChangeListener.Channel;

    /// <summary>Open streams on this instance (tests, diagnostics).</summary>
    public int Subscribers
    {
        get
        {
            lock (gate)
            {
                return feedsBySchema.Values.Sum(f => f.Count);
            }
        }
    }

    /// <summary>A new stream of the tenant's changes, once its feed knows the tenant's state (the first stream waits for one read).</summary>
    public async Task<ToggleStreamSubscription> SubscribeAsync(TenantInfo tenant, CancellationToken ct)
    {
        ToggleStreamSubscription subscription;
        TenantToggleFeed feed;
        lock (gate)
        {
            if (!feedsBySchema.TryGetValue(tenant.SchemaName, out var existing) || existing.Tenant.Id != tenant.Id)
            {
                existing?.Dispose(); // a tenant deleted and created again under its identifier: the old one's streams end
                existing = new TenantToggleFeed(tenant, reader, logger);
                feedsBySchema[tenant.SchemaName] = existing;
            }

            feed = existing;
            subscription = new ToggleStreamSubscription(options.Value.StreamQueueCapacity, s => Unsubscribe(feed, s));
            feed.Add(subscription);
        }

        try
        {
            await feed.Loaded.WaitAsync(ct);
        }
        catch
        {
            subscription.Dispose();
            throw;
        }

        return subscription;
    }

    public void OnNotification(string payload)
    {
        var separator = payload.LastIndexOf(':');
        if (separator <= 0)
        {
            return;
        }

        TenantToggleFeed? feed;
        lock (gate)
        {
            feedsBySchema.TryGetValue(payload[..separator], out feed);
        }

        var key = payload[(separator + 1)..];
        if (feed is null)
        {
            return;
        }

        if (key == "*")
        {
            feed.Resynchronise();
        }
        else
        {
            feed.Changed(key);
        }
    }

    /// <summary>Whatever was notified while nobody listened is unknown: every feed re-reads and reports the difference.</summary>
    public void OnListening()
    {
        lock (gate)
        {
            foreach (var feed in feedsBySchema.Values)
            {
                feed.Resynchronise();
            }
        }
    }

    public void OnListenerLost()
    {
        // Nothing to drop: the feeds' state stays right for what they have sent; OnListening makes them catch up.
    }

    /// <summary>
    /// No poll: a live listening session loses no notification, and a new one makes every feed re-read (OnListening).
    /// The evaluation cache's own version poll (<see cref="ToggleChangeListener"/>) stays its fallback.
    /// </summary>
    public Task PollAsync(string server, NpgsqlConnection connection, CancellationToken ct) => Task.CompletedTask;

    public void Dispose()
    {
        lock (gate)
        {
            foreach (var feed in feedsBySchema.Values)
            {
                feed.Dispose();
            }

            feedsBySchema.Clear();
        }
    }

    private void Unsubscribe(TenantToggleFeed feed, ToggleStreamSubscription subscription)
    {
        lock (gate)
        {
            if (feed.Remove(subscription) == 0)
            {
                if (feedsBySchema.TryGetValue(feed.Tenant.SchemaName, out var current) && ReferenceEquals(current, feed))
                {
                    feedsBySchema.Remove(feed.Tenant.SchemaName);
                }

                feed.Dispose();
            }
        }
    }
}
