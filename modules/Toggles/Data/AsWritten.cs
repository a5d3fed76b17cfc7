using Microsoft.EntityFrameworkCore;

namespace Monolith.Toggles.Data;

/// <summary>
/// Reads a FromSql query as written. Composing LINQ onto it (Select, FirstOrDefault) would make EF wrap it in a
/// subquery, where its ORDER BY no longer orders the result and a row lock or an INSERT reads oddly.
/// </summary>
internal static class AsWritten
{
    public static async Task<List<T>> ListAsync<T>(this IQueryable<T> query, CancellationToken ct)
    {
        var rows = new List<T>();
        await foreach (var row in query.AsAsyncEnumerable().WithCancellation(ct))
        {
            rows.Add(row);
        }

        return rows;
    }

    public static async Task<T?> FirstOrNullAsync<T>(this IQueryable<T> query, CancellationToken ct) where T : class
    {
        await foreach (var row in query.AsAsyncEnumerable().WithCancellation(ct))
        {
            return row;
        }

        return null;
    }
}
