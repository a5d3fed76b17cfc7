using Microsoft.EntityFrameworkCore;

namespace Monolith.Tenancy.Isolation;

/// <summary>
/// Reads SQL on a module's context (FromSql, SqlQuery) as written. Composing LINQ onto it (Select, FirstOrDefault) would
/// make EF wrap it in a subquery, where its ORDER BY no longer orders the result and a row lock or an
/// <c>UPDATE … RETURNING</c> cannot stand.
/// </summary>
public static class AsWritten
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

    public static async Task<List<TResult>> ListAsync<T, TResult>(this IQueryable<T> query, Func<T, TResult> map, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(map);
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

    public static async Task<T?> FirstOrNullValueAsync<T>(this IQueryable<T> query, CancellationToken ct) where T : struct
    {
        await foreach (var row in query.AsAsyncEnumerable().WithCancellation(ct))
        {
            return row;
        }

        return null;
    }
}
