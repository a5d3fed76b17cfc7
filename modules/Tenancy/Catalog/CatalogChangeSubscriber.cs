using Monolith.Tenancy.Notifications;
using Npgsql;

namespace Monolith.Tenancy.Catalog;

/// <summary>
/// Keeps <see cref="TenantCatalogCache"/> true on this instance when another instance changes the catalog: the
/// catalog trigger notifies <see cref="Channel"/> with the identifier (the fast path), and the poll compares the
/// catalog's change counter (the fallback, so a lost notification costs at most one poll interval). Served by the
/// instance's <see cref="ChangeNotificationHub"/>.
/// </summary>
internal sealed class CatalogChangeSubscriber(TenantCatalogCache cache) : IChangeSubscriber
{
    public const string Channel = "monolith_tenants";

    private long? seen;

    string IChangeSubscriber.Channel => Channel;

    bool IChangeSubscriber.CatalogOnly => true;

    public void OnNotification(string payload) => cache.Invalidate(payload);

    public void OnListening()
    {
        // Whatever changed while nobody listened is unknown: start clean; the next poll takes the counter's value.
        seen = null;
        cache.Clear();
    }

    public void OnListenerLost() => cache.Clear();

    public async Task PollAsync(string server, NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END FROM platform.catalog_changes", connection);
        var current = (long)(await command.ExecuteScalarAsync(ct))!;
        if (seen is { } previous && previous != current)
        {
            cache.Clear();
        }

        seen = current;
    }
}
