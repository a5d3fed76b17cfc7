using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Monolith.Tenancy.Bounds;

/// <summary>
/// At start, asks the server what the request role may do (CONTRACT §8). A superuser is refused in Production and
/// warned about elsewhere; a request role that can create roles or databases, inherits privileges, or owns schemas is
/// warned about everywhere: each defeats the second wall between tenants (docs/adr/0005).
/// </summary>
internal sealed partial class RequestRoleCheck(PlatformDatabase database, IHostEnvironment environment, ILogger<RequestRoleCheck> logger) : IHostedService
{
    private const string Sql =
        """
        SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolinherit,
               EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspowner = r.oid AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema')
        FROM pg_roles r WHERE r.rolname = current_user
        """;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (await WeaknessesAsync(database, cancellationToken) is not { Count: > 0 } weaknesses)
        {
            return;
        }

        if (weaknesses.Contains(Superuser))
        {
            const string message =
                "ConnectionStrings__Monolith connects as a PostgreSQL superuser: a statement that leaves the tenant's role would reach every tenant. Use the request role (see README, 'Database roles').";
            if (environment.IsProduction())
            {
                throw new InvalidOperationException(message);
            }

            LogWeakRole(logger, message);
            return;
        }

        LogWeakRole(logger,
            $"ConnectionStrings__Monolith connects as a role that {string.Join(", ", weaknesses)}: the request role should own nothing and hold no privilege itself (see README, 'Database roles').");
    }

    private const string Superuser = "is a superuser";

    /// <summary>
    /// What the request role of <paramref name="server"/> may do that it should not, in words ("is a superuser", "can
    /// create roles", ...); empty when nothing, null when the role is not found. Also the check a server added to the
    /// placement map must pass (docs/adr/0066).
    /// </summary>
    public static async Task<List<string>?> WeaknessesAsync(PlatformDatabase server, CancellationToken ct)
    {
        await using var command = server.RequestDataSource.CreateCommand(Sql);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }

        return new[]
        {
            reader.GetBoolean(0) ? Superuser : null, reader.GetBoolean(1) ? "can create roles" : null,
            reader.GetBoolean(2) ? "can create databases" : null, reader.GetBoolean(3) ? "inherits its tenant roles' privileges" : null,
            reader.GetBoolean(4) ? "owns schemas" : null,
        }.OfType<string>().ToList();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Message}")]
    private static partial void LogWeakRole(ILogger logger, string message);
}
