using System.Security.Claims;

namespace Monolith.SharedKernel.Context;

/// <summary>
/// For responses that outlive their request's checks (a stream): tells when the signed-in caller's access ends, so the
/// response can end too (CONTRACT §3). Implemented by Access, which owns users and sessions; used by any module.
/// </summary>
public interface ICallerAccessMonitor
{
    /// <summary>
    /// Starts watching the caller of the current tenant request. <see cref="ICallerAccessWatch.Ended"/> is cancelled within
    /// about 1 s once the caller's session ends, the user is disabled or deleted, their role falls below
    /// <paramref name="minimumRole"/>, their access token expires, or the tenant stops being active; at once when the
    /// caller cannot be watched (no signed-in user or no tenant). Dispose the watch when the response ends.
    /// </summary>
    ICallerAccessWatch Watch(ClaimsPrincipal caller, string minimumRole);
}

public interface ICallerAccessWatch : IDisposable
{
    /// <summary>Cancelled when the caller's access has ended.</summary>
    CancellationToken Ended { get; }
}
