using Microsoft.EntityFrameworkCore;

namespace Monolith.Access.Data;

/// <summary>
/// Reads SQL (FromSql, SqlQuery) as written. Composing LINQ onto it (Select, FirstOrDefault) would make EF wrap it in a
/// subquery, where its ORDER BY no longer orders the result and a row lock or an UPDATE … RETURNING cannot stand.
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

    public static async Task<T?> FirstOrNullValueAsync<T>(this IQueryable<T> query, CancellationToken ct) where T : struct
    {
        await foreach (var row in query.AsAsyncEnumerable().WithCancellation(ct))
        {
            return row;
        }

        return null;
    }
}
