using Monolith.Tenancy.Bounds;
using Monolith.Tenancy.Operators;
using Monolith.Tenancy.Provisioning;
using Monolith.Tenancy.Isolation;
using Npgsql;
using NpgsqlTypes;

namespace Monolith.Tenancy.Placement;

internal static class ServerStatus
{
    public const string Active = "active";

    /// <summary>Keeps its tenants but takes no new ones, and no tenant may move to it.</summary>
    public const string Draining = "draining";

    public static readonly IReadOnlyList<string> All = [Active, Draining];
}

/// <summary>A server of the placement map as the platform API shows it: where it is, never its passwords.</summary>
internal sealed record ServerInfo(string Name, string? Host, int Port, string? Database, int Capacity, string Status, int Tenants, DateTimeOffset CreatedAt);

internal enum ServerChange
{
    Done,
    Invalid,
    NotFound,
    Conflict,
}

internal sealed record ServerResult(ServerChange Status, ServerInfo? Server = null, IDictionary<string, string[]>? Errors = null, string? Detail = null)
{
    public static ServerResult Invalid(string field, string message) => new(ServerChange.Invalid, Errors: new Dictionary<string, string[]> { [field] = [message] });
}

/// <summary>
/// The placement map's servers (<c>platform.servers</c>, docs/adr/0066): listed, added (after checking the new server's
/// two roles and giving it the platform scripts) and changed (capacity, status), each change with its operator-trail
/// record. The catalog's own server is <c>main</c>: its connection strings are the host's configuration.
/// </summary>
internal sealed class ServerMap(PlatformDatabase database, OperatorTrail trail)
{
    private const string Columns =
        "s.name, s.request_connection, s.capacity, s.status, s.created_at, (SELECT count(*)::int FROM platform.tenants t WHERE t.server = s.name)";

    public async Task<IReadOnlyList<ServerInfo>> ListAsync(CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand($"SELECT {Columns} FROM platform.servers s ORDER BY s.name");
        return await ReadAsync(command, ct);
    }

    public async Task<ServerInfo?> FindAsync(string name, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand($"SELECT {Columns} FROM platform.servers s WHERE s.name = $1");
        command.Parameters.AddWithValue(name);
        var rows = await ReadAsync(command, ct);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<ServerResult> AddAsync(string? name, string? requestConnection, string? ownerConnection, int? capacity, CancellationToken ct)
    {
        var refusal = Validate(name, requestConnection, ownerConnection, capacity);
        if (refusal is null && await FindAsync(name!, ct) is not null)
        {
            refusal = new ServerResult(ServerChange.Conflict, Detail: $"A server named '{name}' is in the placement map already.");
        }

        refusal ??= await SameClusterAsync(requestConnection!, ownerConnection!, ct);
        if (refusal is not null)
        {
            return await RefusedAsync(OperatorActions.ServerAdd, name, refusal, ct);
        }

        // The host's own sub-pool count, so that the platform scripts' run there also makes the sub-pools' logins (docs/adr/0073).
        await using (var server = new PlatformDatabase(
                         requestConnection!, ownerConnection, database.TransactionPooling, database.RequestPools, name, requestLogins: database.RequestLogins.Count > 0))
        {
            try
            {
                if (await WeakRequestRoleAsync(server, ct) is { } weak)
                {
                    return await RefusedAsync(OperatorActions.ServerAdd, name, ServerResult.Invalid("requestConnection", weak), ct);
                }

                var outcome = TenantMigrator.MigratePlatformOn(server);
                if (!outcome.Succeeded)
                {
                    return await RefusedAsync(OperatorActions.ServerAdd, name, ServerResult.Invalid("ownerConnection",
                        $"The platform scripts could not be applied there as its owner role (script {outcome.FailedScript} failed)."), ct);
                }
            }
            catch (NpgsqlException e)
            {
                return await RefusedAsync(OperatorActions.ServerAdd, name, ServerResult.Invalid("requestConnection",
                    $"The server could not be reached with both connection strings: {e.GetType().Name} {(e as PostgresException)?.SqlState}".TrimEnd()), ct);
            }
        }

        await using var work = await trail.BeginAsync(ct);
        await using (var insert = new NpgsqlCommand(
                         "INSERT INTO platform.servers (name, request_connection, owner_connection, capacity) VALUES ($1, $2, $3, $4)",
                         work.Connection, work.Transaction))
        {
            insert.Parameters.AddWithValue(name!);
            insert.Parameters.AddWithValue(requestConnection!);
            insert.Parameters.AddWithValue(ownerConnection!);
            insert.Parameters.AddWithValue(capacity!.Value);
            await insert.ExecuteNonQueryAsync(ct);
        }

        await work.SucceededAsync(OperatorActions.ServerAdd, new OperatorSubject(null), $"server {name}, capacity {capacity}", ct);
        return new ServerResult(ServerChange.Done, await FindAsync(name!, ct));
    }

    /// <summary>
    /// Changes a server's capacity, status or connection strings. New connection strings (a password rotated, an option
    /// changed) must reach the same database as the same two roles, and are checked as an added server's are before
    /// they are stored; every host instance then makes new pools from them (platform script 0086,
    /// <see cref="ServerConnectionChanges"/>).
    /// </summary>
    public async Task<ServerResult> UpdateAsync(
        string name, int? capacity, string? status, string? requestConnection, string? ownerConnection, CancellationToken ct)
    {
        if (capacity is < 0 or > 1_000_000)
        {
            return await RefusedAsync(OperatorActions.ServerUpdate, name, ServerResult.Invalid("capacity", "capacity must be from 0 to 1000000."), ct);
        }

        if (status is not null && !ServerStatus.All.Contains(status))
        {
            return await RefusedAsync(OperatorActions.ServerUpdate, name,
                ServerResult.Invalid("status", $"status must be one of: {string.Join(", ", ServerStatus.All)}."), ct);
        }

        if ((requestConnection is not null || ownerConnection is not null)
            && await RefuseConnectionsAsync(name, requestConnection, ownerConnection, ct) is { } refusal)
        {
            return await RefusedAsync(OperatorActions.ServerUpdate, name, refusal, ct);
        }

        await using var work = await trail.BeginAsync(ct);
        int changed;
        await using (var update = new NpgsqlCommand(
                         """
                         UPDATE platform.servers
                            SET capacity = coalesce($2, capacity), status = coalesce($3, status),
                                request_connection = coalesce($4, request_connection), owner_connection = coalesce($5, owner_connection)
                          WHERE name = $1
                         """,
                         work.Connection, work.Transaction))
        {
            update.Parameters.AddWithValue(name);
            update.Parameters.Add(new NpgsqlParameter { Value = (object?)capacity ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
            update.Parameters.Add(new NpgsqlParameter { Value = (object?)status ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            update.Parameters.Add(new NpgsqlParameter { Value = (object?)requestConnection ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            update.Parameters.Add(new NpgsqlParameter { Value = (object?)ownerConnection ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            changed = await update.ExecuteNonQueryAsync(ct);
        }

        if (changed == 0)
        {
            return await RefusedAsync(OperatorActions.ServerUpdate, name, new ServerResult(ServerChange.NotFound, Detail: "No server with that name."), ct);
        }

        if (requestConnection is not null)
        {
            await SetLoginPasswordsAsync(name, requestConnection, ownerConnection, ct);
        }

        // What changed, never the strings themselves: they hold passwords.
        var what = new[]
        {
            capacity is null ? null : $"capacity={capacity}", status is null ? null : $"status={status}",
            requestConnection is null ? null : "request connection string replaced", ownerConnection is null ? null : "owner connection string replaced",
        }.OfType<string>();
        await work.SucceededAsync(OperatorActions.ServerUpdate, new OperatorSubject(null), $"server {name}: {string.Join(", ", what)}", ct);
        return new ServerResult(ServerChange.Done, await FindAsync(name, ct));
    }

    /// <summary>The request sub-pools' own logins on the server take the request role's new password (docs/adr/0073).</summary>
    private async Task SetLoginPasswordsAsync(string name, string requestConnection, string? ownerConnection, CancellationToken ct)
    {
        if (new NpgsqlConnectionStringBuilder(requestConnection).Password is not { Length: > 0 } password)
        {
            return;
        }

        if (ownerConnection is null)
        {
            await using var command = database.DataSource.CreateCommand("SELECT owner_connection FROM platform.servers WHERE name = $1");
            command.Parameters.AddWithValue(name);
            ownerConnection = (string)(await command.ExecuteScalarAsync(ct))!;
        }

        await using var owner = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ownerConnection) { Pooling = false }.ConnectionString);
        await owner.OpenAsync(ct);
        await RequestLogins.SetPasswordsAsync(owner, password, ct);
    }

    /// <summary>Why <paramref name="name"/> cannot take a moving tenant; null when it can.</summary>
    public static async Task<string?> RefuseAsTargetAsync(PlatformDatabase database, string name, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand("SELECT status FROM platform.servers WHERE name = $1");
        command.Parameters.AddWithValue(name);
        return await command.ExecuteScalarAsync(ct) switch
        {
            null => $"No database server named '{name}' is in the placement map.",
            ServerStatus.Active => null,
            var status => $"Server '{name}' is {status}: it takes no tenants.",
        };
    }

    private static ServerResult? Validate(string? name, string? requestConnection, string? ownerConnection, int? capacity)
    {
        if (name is null || !System.Text.RegularExpressions.Regex.IsMatch(name, "^[a-z][a-z0-9-]{0,39}$"))
        {
            return ServerResult.Invalid("name", "name is required: a lowercase letter, then up to 39 lowercase letters, digits or '-'.");
        }

        if (name == TenantServers.Catalog)
        {
            return new ServerResult(ServerChange.Conflict, Detail: $"'{TenantServers.Catalog}' is the catalog's own server, configured by the host's connection strings.");
        }

        foreach (var (field, value) in new[] { ("requestConnection", requestConnection), ("ownerConnection", ownerConnection) })
        {
            if (RefuseConnectionString(field, value) is { } refusal)
            {
                return refusal;
            }
        }

        if (capacity is null or < 0 or > 1_000_000)
        {
            return ServerResult.Invalid("capacity", "capacity is required: how many tenants the server should hold, from 0 to 1000000.");
        }

        return null;
    }

    private static ServerResult? RefuseConnectionString(string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return ServerResult.Invalid(field, $"{field} is required: an Npgsql connection string.");
        }

        try
        {
            var parsed = new NpgsqlConnectionStringBuilder(value);
            if (string.IsNullOrEmpty(parsed.Host) || string.IsNullOrEmpty(parsed.Database) || string.IsNullOrEmpty(parsed.Username))
            {
                return ServerResult.Invalid(field, $"{field} must name Host, Database and Username.");
            }
        }
        catch (ArgumentException)
        {
            return ServerResult.Invalid(field, $"{field} is not a valid connection string.");
        }

        return null;
    }

    /// <summary>
    /// Why a server's new connection strings cannot replace its current ones; null when they can. They must reach the same
    /// database (its tenants' schemas are there: another cluster is another server, reached by moving tenants) as the same
    /// roles (each tenant role is granted to that request role by name), and both must log in now, the request role with
    /// no privilege of its own.
    /// </summary>
    private async Task<ServerResult?> RefuseConnectionsAsync(string name, string? requestConnection, string? ownerConnection, CancellationToken ct)
    {
        if (name == TenantServers.Catalog)
        {
            return ServerResult.Invalid(requestConnection is null ? "ownerConnection" : "requestConnection",
                $"'{TenantServers.Catalog}' is the catalog's own server: its connection strings are each host's configuration (ConnectionStrings__Monolith, ConnectionStrings__MonolithOwner).");
        }

        string currentRequest, currentOwner;
        await using (var command = database.DataSource.CreateCommand("SELECT request_connection, owner_connection FROM platform.servers WHERE name = $1"))
        {
            command.Parameters.AddWithValue(name);
            await using var reader = await command.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
            {
                return new ServerResult(ServerChange.NotFound, Detail: "No server with that name.");
            }

            (currentRequest, currentOwner) = (reader.GetString(0), reader.GetString(1));
        }

        foreach (var (field, value, current) in new[] { ("requestConnection", requestConnection, currentRequest), ("ownerConnection", ownerConnection, currentOwner) })
        {
            if (value is null)
            {
                continue;
            }

            if (RefuseConnectionString(field, value) is { } refusal)
            {
                return refusal;
            }

            var (now, before) = (new NpgsqlConnectionStringBuilder(value), new NpgsqlConnectionStringBuilder(current));
            if (Endpoint(value) != Endpoint(current))
            {
                return ServerResult.Invalid(field,
                    $"{field} must reach the server's database as before ({before.Host}:{before.Port}/{before.Database}): its tenants' schemas are there. To use another cluster, add it as a server and move the tenants.");
            }

            if (!string.Equals(now.Username, before.Username, StringComparison.Ordinal))
            {
                return ServerResult.Invalid(field, $"{field} must log in as the same role as before ({before.Username}): new connection strings change a password or an option, not the role.");
            }
        }

        await using var server = new PlatformDatabase(requestConnection ?? currentRequest, ownerConnection ?? currentOwner, database.TransactionPooling, 1, name);
        try
        {
            await using var owner = await server.OpenConnectionAsync(ct);
        }
        catch (NpgsqlException e)
        {
            return ServerResult.Invalid("ownerConnection", $"The owner role could not log in with it: {e.GetType().Name} {(e as PostgresException)?.SqlState}".TrimEnd());
        }

        try
        {
            return await WeakRequestRoleAsync(server, ct) is { } weak ? ServerResult.Invalid("requestConnection", weak) : null;
        }
        catch (NpgsqlException e)
        {
            return ServerResult.Invalid("requestConnection", $"The request role could not log in with it: {e.GetType().Name} {(e as PostgresException)?.SqlState}".TrimEnd());
        }
    }

    /// <summary>
    /// Tenant roles belong to a PostgreSQL cluster, not to a database: two servers of the map in one cluster would share
    /// them, and a move's removal of the old copy would drop the new copy's role.
    /// </summary>
    private async Task<ServerResult?> SameClusterAsync(string requestConnection, string ownerConnection, CancellationToken ct)
    {
        var known = new List<(string Name, string Connection)> { (TenantServers.Catalog, database.ConnectionString) };
        await using (var command = database.DataSource.CreateCommand("SELECT name, owner_connection FROM platform.servers WHERE owner_connection IS NOT NULL"))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                known.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        var request = Endpoint(requestConnection);
        if (Endpoint(ownerConnection) != request)
        {
            return ServerResult.Invalid("ownerConnection", "ownerConnection must reach the same host, port and database as requestConnection.");
        }

        foreach (var (existing, connection) in known)
        {
            var other = Endpoint(connection);
            if (other.Host == request.Host && other.Port == request.Port)
            {
                return ServerResult.Invalid("requestConnection",
                    $"That is the PostgreSQL cluster of server '{existing}' ({other.Host}:{other.Port}): tenant roles are per cluster, so each server must be a cluster of its own.");
            }
        }

        return null;
    }

    private static (string Host, int Port, string Database) Endpoint(string connection)
    {
        var parsed = new NpgsqlConnectionStringBuilder(connection);
        return ((parsed.Host ?? string.Empty).ToLowerInvariant(), parsed.Port, parsed.Database ?? string.Empty);
    }

    /// <summary>The start-up check's rules (docs/adr/0005), refused outright for a server added at run time.</summary>
    private static async Task<string?> WeakRequestRoleAsync(PlatformDatabase server, CancellationToken ct) =>
        await RequestRoleCheck.WeaknessesAsync(server, ct) switch
        {
            null => "The request role could not be found on that server.",
            { Count: 0 } => null,
            var weaknesses => $"The request role {string.Join(", ", weaknesses)}: it must own nothing and hold no privilege itself (README, 'Database roles').",
        };

    private async Task<ServerResult> RefusedAsync(string action, string? name, ServerResult result, CancellationToken ct)
    {
        var detail = result.Detail ?? string.Join("; ", (result.Errors ?? new Dictionary<string, string[]>()).Select(e => $"{e.Key}: {e.Value[0]}"));
        await trail.FailedAsync(action, new OperatorSubject(null), $"server {name}: {detail}", ct);
        return result;
    }

    private async Task<IReadOnlyList<ServerInfo>> ReadAsync(NpgsqlCommand command, CancellationToken ct)
    {
        var servers = new List<ServerInfo>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var connection = new NpgsqlConnectionStringBuilder(reader.IsDBNull(1) ? database.RequestConnectionString : reader.GetString(1));
            servers.Add(new ServerInfo(reader.GetString(0), connection.Host, connection.Port, connection.Database, reader.GetInt32(2),
                reader.GetString(3), reader.GetInt32(5), reader.GetFieldValue<DateTimeOffset>(4)));
        }

        return servers;
    }
}
