using Microsoft.AspNetCore.Http;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Validation;
using Npgsql;

namespace Monolith.Customers.Common;

/// <summary>The position of a list ordered by id (UUID v7: creation order): the last id served.</summary>
internal sealed record IdCursor(Guid After);

internal static class Lists
{
    /// <summary>limit and cursor for a list ordered by id.</summary>
    public static (PageRequest Page, Guid? After) IdPage(HttpContext http, ValidationErrors errors)
    {
        var page = PageRequest.Parse(http.Request.Query["limit"].ToString() is { Length: > 0 } l ? l : null, http.Request.Query["cursor"], errors);
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
    /// <see cref="PageRequest.ToPage"/> knows whether there is a next page) and, when paging on, $3 the last id seen.
    /// </summary>
    public static async Task<List<T>> ReadChildRowsAsync<T>(
        NpgsqlConnection connection, string sql, Guid parentId, PageRequest page, Guid? after, Func<NpgsqlDataReader, T> read, CancellationToken ct)
    {
        var rows = new List<T>();
        await using var command = new NpgsqlCommand(sql, connection);
        command.With(parentId).With(page.ReadCount);
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
}
