using Microsoft.AspNetCore.Http;
using Monolith.SharedKernel.Validation;

namespace Monolith.SharedKernel.Paging;

/// <summary>The query string of a list endpoint (<c>GET</c> of a collection).</summary>
public static class ListQuery
{
    /// <summary>
    /// A query parameter the list does not know is a 400 naming it (compared case-sensitively, as documented):
    /// a typo such as <c>?stauts=</c> never silently widens a filter.
    /// </summary>
    public static void RejectUnknownParameters(HttpRequest request, ValidationErrors errors, params string[] known)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(errors);
        foreach (var name in request.Query.Keys)
        {
            if (!known.Contains(name, StringComparer.Ordinal))
            {
                errors.Add(name, known.Length == 0
                    ? "unknown query parameter; this list accepts none."
                    : $"unknown query parameter; this list accepts: {string.Join(", ", known)}.");
            }
        }
    }
}
