using System.Buffers.Text;
using System.Text;
using System.Text.Json;

namespace Monolith.SharedKernel.Paging;

/// <summary>A page of a list: <c>{ items, nextCursor }</c>.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

/// <summary>
/// <c>?limit=</c> (1–200, default 50) and <c>?cursor=</c>, validated. Cursors are opaque to clients:
/// base64url of a small JSON document that only the issuing endpoint interprets.
/// </summary>
public readonly record struct PageRequest(int Limit, string? Cursor)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    /// <summary>Parses the raw query values; <paramref name="errors"/> gets a message per bad field.</summary>
    public static PageRequest Parse(string? limit, string? cursor, IDictionary<string, string[]> errors)
    {
        var value = DefaultLimit;
        if (limit is not null && (!int.TryParse(limit, out value) || value is < 1 or > MaxLimit))
        {
            errors["limit"] = [$"limit must be a whole number from 1 to {MaxLimit}."];
            value = DefaultLimit;
        }

        return new PageRequest(value, string.IsNullOrEmpty(cursor) ? null : cursor);
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
