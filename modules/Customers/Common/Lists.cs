using Microsoft.AspNetCore.Http;
using Monolith.SharedKernel.Paging;
using Npgsql;

namespace Monolith.Customers.Common;

/// <summary>The position of a list ordered by id (UUID v7: creation order): the last id served.</summary>
internal sealed record IdCursor(Guid After);

internal static class Lists
{
    /// <summary>A query parameter the list does not know is a 400 naming it: a typo never silently widens a filter.</summary>
    public static void RejectUnknownParameters(HttpContext http, Errors errors, params string[] known)
    {
        foreach (var name in http.Request.Query.Keys)
        {
            if (!known.Contains(name, StringComparer.Ordinal))
            {
                errors.Add(name, $"unknown query parameter; this list accepts: {string.Join(", ", known)}.");
            }
        }
    }

    /// <summary>limit and cursor for a list ordered by id.</summary>
    public static (PageRequest Page, Guid? After) IdPage(HttpContext http, Errors errors)
    {
        var raw = new Dictionary<string, string[]>();
        var page = PageRequest.Parse(http.Request.Query["limit"].ToString() is { Length: > 0 } l ? l : null, http.Request.Query["cursor"], raw);
        errors.AddAll(raw);
        Guid? after = null;
        if (page.Cursor is not null)
        {
            if (Cursor.TryDecode<IdCursor>(page.Cursor, out var position))
            {
                after = position!.After;
            }
            else
            {
                errors.Add("cursor", Cursor.InvalidMessage);
            }
        }

        return (page, after);
    }

    /// <summary>
    /// One page of a parent's children in id order. The SQL takes $1 the parent's id, $2 the limit plus one (so
    /// <see cref="ToPage"/> knows whether there is a next page) and, when paging on, $3 the last id seen.
    /// </summary>
    public static async Task<List<T>> ReadChildRowsAsync<T>(
        NpgsqlConnection connection, string sql, Guid parentId, PageRequest page, Guid? after, Func<NpgsqlDataReader, T> read, CancellationToken ct)
    {
        var rows = new List<T>();
        await using var command = new NpgsqlCommand(sql, connection);
        command.With(parentId).With(page.Limit + 1);
        if (after is not null)
        {
            command.With(after.Value);
        }

        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    public static Page<T> ToPage<T>(List<T> rows, int limit, Func<T, Guid> id)
    {
        if (rows.Count <= limit)
        {
            return new Page<T>(rows, null);
        }

        rows.RemoveAt(rows.Count - 1);
        return new Page<T>(rows, Cursor.Encode(new IdCursor(id(rows[^1]))));
    }
}
