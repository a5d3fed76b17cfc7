using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Monolith.SharedKernel.Validation;

namespace Monolith.SharedKernel.Paging;

/// <summary>A page of a list: <c>{ items, nextCursor }</c>.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor)
{
    /// <summary>The same page with each item mapped (rows read with their position, answered as responses).</summary>
    public Page<TResult> Select<TResult>(Func<T, TResult> map) => new(Items.Select(map).ToList(), NextCursor);
}

/// <summary>
/// <c>?limit=</c> (1–200, default 50) and <c>?cursor=</c>, validated. Cursors are opaque to clients:
/// base64url of a small JSON document that only the issuing endpoint interprets.
/// </summary>
public readonly record struct PageRequest(int Limit, string? Cursor)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    /// <summary>How many rows to read: one more than the page, so <see cref="ToPage"/> knows whether another page follows.</summary>
    public int ReadCount => Limit + 1;

    /// <summary>Parses the raw query values; <paramref name="errors"/> gets a message per bad field.</summary>
    public static PageRequest Parse(string? limit, string? cursor, ValidationErrors errors)
    {
        var value = DefaultLimit;
        if (limit is not null && (!int.TryParse(limit, out value) || value is < 1 or > MaxLimit))
        {
            errors.Add("limit", $"limit must be a whole number from 1 to {MaxLimit}.");
            value = DefaultLimit;
        }

        return new PageRequest(value, string.IsNullOrEmpty(cursor) ? null : cursor);
    }

    /// <summary>
    /// The page from rows read with <see cref="ReadCount"/>: the first <see cref="Limit"/> rows, and when there were
    /// more, a cursor holding the position of the last row served (<paramref name="positionOf"/>).
    /// </summary>
    public Page<T> ToPage<T, TPosition>(List<T> rows, Func<T, TPosition> positionOf)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(positionOf);
        if (rows.Count <= Limit)
        {
            return new Page<T>(rows, null);
        }

        rows.RemoveRange(Limit, rows.Count - Limit);
        return new Page<T>(rows, Paging.Cursor.Encode(positionOf(rows[^1])));
    }
}

public static class Cursor
{
    public static string Encode<T>(T position) =>
        Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(position));

    /// <summary>False for anything that is not a cursor we issued (tampered, truncated, another endpoint's).</summary>
    public static bool TryDecode<T>(string? cursor, out T? position)
    {
        position = default;
        if (string.IsNullOrEmpty(cursor) || cursor.Length > 1024)
        {
            return false;
        }

        try
        {
            position = JsonSerializer.Deserialize<T>(Base64Url.DecodeFromChars(cursor));
            return position is not null;
        }
        catch (Exception e) when (e is FormatException or JsonException or ArgumentException)
        {
            return false;
        }
    }

    public static string InvalidMessage => "cursor is not valid for this list; start again without it.";

}
