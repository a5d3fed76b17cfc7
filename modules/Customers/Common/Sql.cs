namespace Monolith.Customers.Common;

internal static class Sql
{
    /// <summary>Escapes LIKE's wildcards so a search term matches literally ("50%_off" finds "50%_off").</summary>
    public static string ContainsPattern(string term) =>
        "%" + term.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal) + "%";
}
