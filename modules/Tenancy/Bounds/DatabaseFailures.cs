using System.Net.Sockets;
using Npgsql;

namespace Monolith.Tenancy.Bounds;

/// <summary>How a database error is told apart: a bound that was hit, or a server that went away.</summary>
internal static class DatabaseFailures
{
    /// <summary>A statement that ran past its tenant's statement or lock timeout.</summary>
    public static bool IsTimeout(Exception e) =>
        Unwrap(e) is PostgresException { SqlState: PostgresErrorCodes.QueryCanceled or PostgresErrorCodes.LockNotAvailable };

    /// <summary>
    /// <c>SET ROLE</c> to the tenant's role refused although the request role was granted it: the backend's cache of role
    /// memberships missed a grant (see <see cref="Isolation.TenantDatabase"/>). Told by the GUC check's routine, not the
    /// (translatable) message.
    /// </summary>
    public static bool IsSetRoleRefused(Exception e) =>
        Unwrap(e) is PostgresException { SqlState: PostgresErrorCodes.InsufficientPrivilege, Routine: "call_string_check_hook" };

    /// <summary>
    /// The tenant's own objects refused or missing — what a request meets on a tenant's old copy after a move: rights
    /// revoked, then schema and role gone. Told apart from a bug by the catalog (<see cref="DatabaseExceptionHandler"/>).
    /// </summary>
    public static bool IsMissingTenantObject(Exception e) =>
        Unwrap(e) is PostgresException
        {
            SqlState: PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName
                or PostgresErrorCodes.UndefinedObject or PostgresErrorCodes.InvalidParameterValue,
        };

    /// <summary>
    /// The connection broke or the server refused new work (restart, shutdown, too many connections, or a login refused:
    /// class 28, e.g. a password changed in PostgreSQL before it was changed in the placement map, docs/adr/0066).
    /// </summary>
    public static bool IsConnectionLoss(Exception e) =>
        Unwrap(e) switch
        {
            PostgresException pg => pg.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
                or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.TooManyConnections
                or "25P03" // idle_in_transaction_session_timeout ended the session
                || pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("28", StringComparison.Ordinal),
            NpgsqlException npgsql => npgsql.InnerException is IOException or SocketException or EndOfStreamException or TimeoutException
                || npgsql.IsTransient,
            SocketException => true,
            _ => false,
        };

    private static Exception Unwrap(Exception e)
    {
        while (e is not NpgsqlException && e.InnerException is { } inner)
        {
            e = inner;
        }

        return e;
    }
}
