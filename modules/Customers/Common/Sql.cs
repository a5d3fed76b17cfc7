using Npgsql;

namespace Monolith.Customers.Common;

/// <summary>
/// Row locks taken before a conditional write. A change takes FOR NO KEY UPDATE, which still lets other transactions
/// insert rows referencing this one (their foreign keys take FOR KEY SHARE); a delete takes FOR UPDATE, which holds
/// them off until it is done, so nothing new can hang on a row while it is being removed.
/// </summary>
internal enum RowLock
{
    None,
    ForChange,
    ForDelete,
}

internal static class Sql
{
    public static string Clause(this RowLock rowLock) => rowLock switch
    {
        RowLock.ForChange => " FOR NO KEY UPDATE",
        RowLock.ForDelete => " FOR UPDATE",
        _ => "",
    };

    public static NpgsqlCommand With(this NpgsqlCommand command, object? value)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        return command;
    }

    public static string? NullableString(this NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static bool IsUniqueViolation(this PostgresException e, string constraint) =>
        e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == constraint;

    public static bool IsForeignKeyViolation(this PostgresException e) => e.SqlState == PostgresErrorCodes.ForeignKeyViolation;

    /// <summary>Escapes LIKE's wildcards so a search term matches literally ("50%_off" finds "50%_off").</summary>
    public static string ContainsPattern(string term) =>
        "%" + term.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal) + "%";
}
