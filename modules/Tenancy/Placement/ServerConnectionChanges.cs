using Microsoft.Extensions.Logging;
using Monolith.Tenancy.Notifications;
using Npgsql;

namespace Monolith.Tenancy.Placement;

/// <summary>
/// Keeps this instance's pools of each server of the placement map made from that server's current connection strings
/// (docs/adr/0066): a change to a row of <c>platform.servers</c> notifies <see cref="Channel"/> with the server's name
/// (platform script 0086), and the poll compares each row's <c>connection_version</c> with the one this instance's pools
/// were made from, for a notification that never arrives.
/// </summary>
internal sealed partial class ServerConnectionChanges(TenantServers servers, ILogger<ServerConnectionChanges> logger) : IChangeSubscriber
{
    public const string Channel = "monolith_servers";

    string IChangeSubscriber.Channel => Channel;

    bool IChangeSubscriber.CatalogOnly => true;

    public void OnNotification(string payload) => _ = RefreshAsync([payload], CancellationToken.None);

    public void OnListening()
    {
        // Nothing to drop: the next poll compares every loaded server's version.
    }

    public void OnListenerLost()
    {
        // The pools stay usable; the poll catches up once the hub listens again.
    }

    public async Task PollAsync(string server, NpgsqlConnection connection, CancellationToken ct)
    {
        var loaded = servers.LoadedVersions;
        if (loaded.Count == 0)
        {
            return;
        }

        var changed = new List<string>();
        await using (var command = new NpgsqlCommand("SELECT name, connection_version FROM platform.servers WHERE name = ANY($1)", connection))
        {
            command.Parameters.AddWithValue(loaded.Keys.ToArray());
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                if (loaded[reader.GetString(0)] != reader.GetInt64(1))
                {
                    changed.Add(reader.GetString(0));
                }
            }
        }

        if (changed.Count > 0)
        {
            await RefreshAsync(changed, ct);
        }
    }

    private async Task RefreshAsync(IReadOnlyCollection<string> names, CancellationToken ct)
    {
        try
        {
            if (await servers.RefreshAsync(names, ct) > 0)
            {
                LogRefreshed(logger, names);
            }
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException or ArgumentException or OperationCanceledException)
        {
            LogRefreshFailed(logger, names, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The connection strings of server {Servers} changed: new pools serve it, the old ones retire")]
    private static partial void LogRefreshed(ILogger logger, IReadOnlyCollection<string> servers);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The new connection strings of server {Servers} could not be read; the next poll tries again")]
    private static partial void LogRefreshFailed(ILogger logger, IReadOnlyCollection<string> servers, Exception exception);
}
