using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Monolith.Tenancy.Isolation;

/// <summary>What the database refused, whether it came through SaveChanges (wrapped) or a statement of our own.</summary>
public static class DatabaseErrors
{
    public static bool IsUniqueViolation(this Exception e) => Postgres(e) is { SqlState: PostgresErrorCodes.UniqueViolation };

    public static bool IsUniqueViolation(this Exception e, string constraint) =>
        Postgres(e) is { SqlState: PostgresErrorCodes.UniqueViolation } p && p.ConstraintName == constraint;

    public static bool IsForeignKeyViolation(this Exception e) => Postgres(e) is { SqlState: PostgresErrorCodes.ForeignKeyViolation };

    private static PostgresException? Postgres(Exception e) => e switch
    {
        PostgresException p => p,
        DbUpdateException { InnerException: PostgresException p } => p,
        _ => null,
    };
}
