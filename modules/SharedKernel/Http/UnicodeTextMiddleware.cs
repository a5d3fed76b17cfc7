using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;

namespace Monolith.SharedKernel.Http;

/// <summary>
/// Text is Unicode (CONTRACT §2): a NUL character or an unpaired surrogate in the path (so in a route value), a query
/// name or value, a header or a string of a JSON body answers 400 <c>/problems/invalid-text</c> before any endpoint
/// sees it. PostgreSQL text cannot hold a NUL, and a lone surrogate cannot be encoded as UTF-8: past this point both
/// would be 500s. The answer names where the text is, never the text.
/// </summary>
internal sealed class UnicodeTextMiddleware(RequestDelegate next)
{
    public const string ProblemCode = "invalid-text";

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var where = FindInPath(request) ?? FindInQuery(request) ?? FindInHeaders(request);
        if (where is null && HasJsonBody(request))
        {
            where = await FindInJsonBodyAsync(request, context.RequestAborted);
        }

        if (where is not null)
        {
            await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCode, "The request is invalid.",
                $"{where} contains a NUL character or an unpaired surrogate; text must be Unicode without NUL.");
            return;
        }

        await next(context);
    }

    /// <summary>True when the text holds no NUL and every surrogate is half of a pair.</summary>
    internal static bool IsValid(ReadOnlySpan<char> text)
    {
        // The common case, vectorised: no NUL and no surrogate at all.
        if (text.IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            return !text.Contains('\0');
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                return false;
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    private static string? FindInPath(HttpRequest request) =>
        IsValid(request.PathBase.Value) && IsValid(request.Path.Value) ? null : "The request path";

    private static string? FindInQuery(HttpRequest request)
    {
        if (!request.QueryString.HasValue)
        {
            return null;
        }

        foreach (var (name, values) in request.Query)
        {
            if (!IsValid(name))
            {
                return "A query parameter name";
            }

            foreach (var value in values)
            {
                if (!IsValid(value))
                {
                    return $"The query parameter '{name}'";
                }
            }
        }

        return null;
    }

    private static string? FindInHeaders(HttpRequest request)
    {
        foreach (var (name, values) in request.Headers)
        {
            foreach (var value in values)
            {
                if (!IsValid(value))
                {
                    return IsValid(name) ? $"The header '{name}'" : "A header name";
                }
            }
        }

        return null;
    }

    private static bool HasJsonBody(HttpRequest request) => request.ContentLength is not 0 && request.HasJsonContentType();

    /// <summary>
    /// Reads the body once (buffered, so the endpoint reads it again from the start) and looks at every string and
    /// member name. Malformed JSON is left to the endpoint, which answers it with its own 400.
    /// </summary>
    private static async Task<string?> FindInJsonBodyAsync(HttpRequest request, CancellationToken ct)
    {
        request.EnableBuffering();
        var buffer = new ArrayBufferWriter<byte>(request.ContentLength is > 0 and < 1_048_576 ? (int)request.ContentLength.Value : 4096);
        while (true)
        {
            var read = await request.Body.ReadAsync(buffer.GetMemory(4096), ct);
            if (read == 0)
            {
                break;
            }

            buffer.Advance(read);
        }

        request.Body.Position = 0;
        return FindInJson(buffer.WrittenSpan);
    }

    /// <summary>The JSON path of the first string (value or member name) that is not valid text, or null.</summary>
    internal static string? FindInJson(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        var path = new List<object>(); // per open container: the current member name (object) or index (array)
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        Step(path);
                        path.Add(reader.TokenType == JsonTokenType.StartArray ? -1 : string.Empty);
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        path.RemoveAt(path.Count - 1);
                        break;
                    case JsonTokenType.PropertyName:
                        if (!IsValidJsonString(ref reader))
                        {
                            return Describe(path);
                        }

                        path[^1] = reader.GetString()!;
                        break;
                    case JsonTokenType.String:
                        Step(path);
                        if (!IsValidJsonString(ref reader))
                        {
                            return Describe(path);
                        }

                        break;
                    default:
                        Step(path);
                        break;
                }
            }
        }
        catch (JsonException)
        {
            return null; // not JSON: the endpoint's binding answers it
        }

        return null;
    }

    /// <summary>A value starts in an array: the index moves on.</summary>
    private static void Step(List<object> path)
    {
        if (path.Count > 0 && path[^1] is int index)
        {
            path[^1] = index + 1;
        }
    }

    private static string Describe(List<object> path)
    {
        var text = new StringBuilder("The JSON body at '$");
        foreach (var step in path)
        {
            _ = step is int index ? text.Append('[').Append(index).Append(']') : text.Append('.').Append(step);
        }

        return text.Append('\'').ToString();
    }

    /// <summary>
    /// Raw UTF-8 in a JSON string cannot carry NUL (control characters must be escaped) but may be malformed;
    /// escapes can spell NUL (<c>\u0000</c>) or half a surrogate pair (<c>\ud800</c>).
    /// </summary>
    private static bool IsValidJsonString(ref Utf8JsonReader reader)
    {
        ReadOnlySpan<byte> raw = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan;
        if (!Utf8.IsValid(raw))
        {
            return false;
        }

        if (!reader.ValueIsEscaped)
        {
            return true;
        }

        var pendingHigh = false;
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] != (byte)'\\')
            {
                if (pendingHigh)
                {
                    return false;
                }

                continue;
            }

            var escape = raw[i + 1]; // the reader has validated the escapes: one always follows
            if (escape != (byte)'u')
            {
                if (pendingHigh)
                {
                    return false;
                }

                i++;
                continue;
            }

            var unit = (char)ushort.Parse(raw.Slice(i + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            i += 5;
            if (unit == '\0' || (char.IsLowSurrogate(unit) && !pendingHigh) || (!char.IsLowSurrogate(unit) && pendingHigh))
            {
                return false;
            }

            pendingHigh = char.IsHighSurrogate(unit);
        }

        return !pendingHigh;
    }
}
