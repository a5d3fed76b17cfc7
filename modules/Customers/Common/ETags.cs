using Microsoft.AspNetCore.Http;
using Monolith.SharedKernel.Preconditions;

namespace Monolith.Customers.Common;

/// <summary>
/// Strong ETags from the row's concurrency token (PostgreSQL's xmin: it changes with every update of the row),
/// and If-Match evaluated against them by the shared rule (<see cref="IfMatch"/>: strong comparison, <c>*</c>).
/// </summary>
internal static class ETags
{
    public static string Format(uint version) => $"\"{version}\"";

    public static void Set(HttpContext http, uint version) => http.Response.Headers.ETag = Format(version);

    /// <summary>True when there is no If-Match, it is <c>*</c>, or one of its tags equals the current one (strongly).</summary>
    public static bool IfMatchAllows(HttpContext http, uint version) => IfMatch.Allows(http.Request, Format(version));
}
