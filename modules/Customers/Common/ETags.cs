using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Monolith.Customers.Common;

/// <summary>
/// Strong ETags from the row's concurrency token (PostgreSQL's xmin: it changes with every update of the row),
/// and If-Match evaluated against them (RFC 9110 §13.1.1: strong comparison; <c>*</c> matches any current
/// representation).
/// </summary>
internal static class ETags
{
    public static string Format(uint version) => $"\"{version}\"";

    public static void Set(HttpContext http, uint version) => http.Response.Headers.ETag = Format(version);

    /// <summary>True when there is no If-Match, it is <c>*</c>, or one of its tags equals the current one.</summary>
    public static bool IfMatchAllows(HttpContext http, uint version)
    {
        var header = http.Request.Headers.IfMatch;
        if (header.Count == 0)
        {
            return true;
        }

        if (!EntityTagHeaderValue.TryParseList(header, out var tags) || tags.Count == 0)
        {
            return false;
        }

        var current = new EntityTagHeaderValue(Format(version));
        return tags.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(current, useStrongComparison: true));
    }
}
