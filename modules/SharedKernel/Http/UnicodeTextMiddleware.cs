using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;

namespace Monolith.SharedKernel.Http;

/// <summary>
/// Text is Unicode (CONTRACT §2): a NUL character or an unpaired surrogate in the path (so in a route value), a query
/// name or value, a header or a string of a JSON body answers 400 before any endpoint sees it, as a validation problem
/// (<c>/problems/validation</c>) whose <c>errors</c> names the field: the JSON path of a body member
/// (<c>projects[1].name</c>), the query parameter, the header, or <c>path</c>. PostgreSQL text cannot hold a NUL, and a
/// lone surrogate cannot be encoded as UTF-8: past this point both would be 500s. The answer never echoes the text.
/// </summary>
internal sealed class UnicodeTextMiddleware(RequestDelegate next)
{
    public const string Message = "must be Unicode text without NUL characters or unpaired surrogates.";

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var found = FindInPath(request) ?? FindInQuery(request) ?? FindInHeaders(request);
        if (found is null && HasJsonBody(request))
        {
            found = await FindInJsonBodyAsync(request, context.RequestAborted);
        }

        if (found is { } invalid)
        {
            await Problems.Validation(
                    new Dictionary<string, string[]> { [invalid.Field] = [Message] },
                    $"{invalid.Where} contains a NUL character or an unpaired surrogate; text must be Unicode without NUL.")
                .ExecuteAsync(context);
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

    private static InvalidText? FindInPath(HttpRequest request) =>
        IsValid(request.PathBase.Value) && IsValid(request.Path.Value) ? null : new InvalidText("path", "The request path");

    private static InvalidText? FindInQuery(HttpRequest request)
    {
        if (!request.QueryString.HasValue)
        {
            return null;
        }

        foreach (var (name, values) in request.Query)
        {
            if (!IsValid(name))
            {
                return new InvalidText("query", "A query parameter name");
            }

            foreach (var value in values)
            {
                if (!IsValid(value))
                {
                    return new InvalidText(name, $"The query parameter '{name}'");
                }
            }
        }

        return null;
    }

    private static InvalidText? FindInHeaders(HttpRequest request)
    {
        foreach (var (name, values) in request.Headers)
        {
            if (!IsValid(name))
            {
                return new InvalidText("headers", "A header name");
            }

            foreach (var value in values)
            {
                if (!IsValid(value))
                {
                    return new InvalidText(name, $"The header '{name}'");
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
    private static async Task<InvalidText?> FindInJsonBodyAsync(HttpRequest request, CancellationToken ct)
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

    /// <summary>The first string (value or member name) that is not valid text, named by its JSON path; or null.</summary>
    internal static InvalidText? FindInJson(ReadOnlySpan<byte> json)
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
                            return Describe(path[..^1], memberName: true);
                        }

                        path[^1] = reader.GetString()!;
                        break;
                    case JsonTokenType.String:
                        Step(path);
                        if (!IsValidJsonString(ref reader))
                        {
                            return Describe(path, memberName: false);
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

    /// <summary>
    /// <c>projects[1].name</c> as the field (the form validation errors use), <c>$.projects[1].name</c> in the sentence.
    /// A bad member name is reported on the object that holds it.
    /// </summary>
    private static InvalidText Describe(List<object> path, bool memberName)
    {
        var field = new StringBuilder();
        foreach (var step in path)
        {
            _ = step is int index
                ? field.Append('[').Append(index).Append(']')
                : field.Append(field.Length > 0 ? "." : string.Empty).Append(step);
        }

        var jsonPath = field.Length == 0 ? "$" : field[0] == '[' ? "$" + field : "$." + field;
        return new InvalidText(
            field.Length == 0 ? "body" : field.ToString(),
            memberName ? $"A member name in the JSON body at '{jsonPath}'" : $"The JSON body at '{jsonPath}'");
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

/// <summary>Where invalid text was found: the field the validation problem names, and the sentence for its detail.</summary>
internal sealed record InvalidText(string Field, string Where);
