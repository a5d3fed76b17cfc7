using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Monolith.SharedKernel.Preconditions;

/// <summary>
/// The one If-Match rule (RFC 9110 §13.1.1), for every <c>PUT</c>/<c>PATCH</c>/<c>DELETE</c> that honours it:
/// <list type="bullet">
/// <item>no If-Match: the write is unconditional (passes);</item>
/// <item><c>*</c>: passes when the resource exists;</item>
/// <item>a list of entity-tags: passes when one of them equals the current ETag by <b>strong</b> comparison; a weak
/// tag (<c>W/"…"</c>) never matches, and a header that is not a valid list never passes;</item>
/// <item>no current resource (<paramref name="currentETag"/> null): a present If-Match never passes.</item>
/// </list>
/// What a failure answers (412, or 404 before it) is the endpoint's choice.
/// </summary>
public static class IfMatch
{
    public static bool IsPresent(HttpRequest request) => request.Headers.IfMatch.Count > 0;

    public static bool Allows(HttpRequest request, string? currentETag) => Allows(request.Headers.IfMatch, currentETag);

    public static bool Allows(StringValues header, string? currentETag)
    {
        if (header.Count == 0)
        {
            return true;
        }

        if (currentETag is null
            || !EntityTagHeaderValue.TryParseStrictList(header, out var tags) || tags.Count == 0
            || !EntityTagHeaderValue.TryParse(currentETag, out var current))
        {
            return false;
        }

        return tags.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(current, useStrongComparison: true));
    }
}
