using Npgsql;

namespace Monolith.Tenancy.Notifications;

/// <summary>
/// A module's interest in one PostgreSQL notification channel, served by the instance's listening connection to each
/// server of the placement map (<see cref="ChangeNotificationHub"/>). Register it as an <see cref="IChangeSubscriber"/> singleton in the module's
/// <c>AddX</c>. The hub calls it from its own loop, one call at a time.
/// </summary>
public interface IChangeSubscriber
{
    /// <summary>The channel, a plain lowercase identifier (<c>monolith_tenants</c>).</summary>
    string Channel { get; }

    /// <summary>A notification on <see cref="Channel"/>. Must be quick and must not throw.</summary>
    void OnNotification(string payload);

    /// <summary>
    /// The hub listens again on every server (the first time, or after a loss): whatever was notified before may have
    /// been missed, so resynchronise (drop caches). Notifications are heard from now on.
    /// </summary>
    void OnListening();

    /// <summary>A connection is gone (or a server was added): not everything is heard until the next <see cref="OnListening"/>.</summary>
    void OnListenerLost();

    /// <summary>
    /// The channel is notified on the catalog's server only (catalog changes): not listened to on the placement map's
    /// other servers. Tenant changes are notified on the tenant's own server, which is listened to as well (docs/adr/0066).
    /// </summary>
    bool CatalogOnly => false;

    /// <summary>
    /// The fallback for a notification that never arrives: called every poll interval while listening, on the hub's
    /// connection to <paramref name="server"/> (a server of the placement map: poll only what lives there). Leave no
    /// transaction open and no session setting changed. A <see cref="PostgresException"/> makes the hub resynchronise
    /// this subscriber; any other failure makes it reconnect.
    /// </summary>
    Task PollAsync(string server, NpgsqlConnection connection, CancellationToken ct);
}
