using Microsoft.EntityFrameworkCore;

namespace Monolith.Customers.Data;

/// <summary>
/// Reads a FromSql query as written. Composing LINQ onto it (Select, FirstOrDefault) would make EF wrap it in a
/// subquery, where its ORDER BY no longer orders the result and a row lock reads oddly.
/// </summary>
internal static class AsWritten
{
    public static async Task<List<TResult>> ListAsync<T, TResult>(this IQueryable<T> query, Func<T, TResult> map, CancellationToken ct)
    {
        var rows = new List<TResult>();
        await foreach (var row in query.AsAsyncEnumerable().WithCancellation(ct))
        {
            rows.Add(map(row));
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
