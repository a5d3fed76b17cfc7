using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Monolith.Access.Data;

/// <summary>What the database refused, whether it came through SaveChanges (wrapped) or a statement of our own.</summary>
internal static class DatabaseErrors
{
    public static bool IsUniqueViolation(this Exception e) => Postgres(e) is { SqlState: PostgresErrorCodes.UniqueViolation };

    private static PostgresException? Postgres(Exception e) => e switch
    {
        PostgresException p => p,
        DbUpdateException { InnerException: PostgresException p } => p,
        _ => null,
    };
}
