using System.Globalization;
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

    /// <summary>
    /// A time filter (<c>from</c>, <c>to</c>): an ISO-8601 time (UTC unless it says otherwise) or a date (its UTC midnight);
    /// null when absent, a 400 naming the field when it is neither.
    /// </summary>
    public static DateTimeOffset? Time(string? text, string field, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (text is null)
        {
            return null;
        }

        const DateTimeStyles Utc = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal;
        if (text.Contains('T', StringComparison.Ordinal) && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, Utc, out var dateTime))
        {
            return dateTime;
        }

        if (DateTimeOffset.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, Utc, out var date))
        {
            return date;
        }

        errors.Add(field, $"{field} must be an ISO-8601 time such as 2026-01-31T12:00:00Z (or a date, 2026-01-31).");
        return null;
    }
}
