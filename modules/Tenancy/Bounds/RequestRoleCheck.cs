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
        await using var command = database.RequestDataSource.CreateCommand(Sql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return;
        }

        var (superuser, createRole, createDb, inherit, ownsSchemas) =
            (reader.GetBoolean(0), reader.GetBoolean(1), reader.GetBoolean(2), reader.GetBoolean(3), reader.GetBoolean(4));
        if (superuser)
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

        if (createRole || createDb || inherit || ownsSchemas)
        {
            LogWeakRole(logger,
                "ConnectionStrings__Monolith connects as a role that " +
                string.Join(", ", new[] { createRole ? "can create roles" : null, createDb ? "can create databases" : null,
                    inherit ? "inherits its tenant roles' privileges" : null, ownsSchemas ? "owns schemas" : null }.OfType<string>()) +
                ": the request role should own nothing and hold no privilege itself (see README, 'Database roles').");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Message}")]
    private static partial void LogWeakRole(ILogger logger, string message);
}
