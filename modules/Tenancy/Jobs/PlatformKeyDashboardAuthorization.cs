using System.Text;
using Hangfire.Dashboard;
using Monolith.Tenancy.Platform;

namespace Monolith.Tenancy.Jobs;

/// <summary>
/// Lets a dashboard request in when it carries the platform key: as <c>X-Platform-Key</c>, or as the password of
/// HTTP Basic authentication (any user name), which a browser can prompt for. Otherwise 401 with a Basic challenge.
/// </summary>
internal sealed class PlatformKeyDashboardAuthorization(PlatformKey key) : IDashboardAsyncAuthorizationFilter
{
    public Task<bool> AuthorizeAsync(DashboardContext context)
    {
        var http = context.GetHttpContext();
        if (key.IsValid(http) || key.IsValid(BasicPassword(http.Request.Headers.Authorization.ToString())))
        {
            return Task.FromResult(true);
        }

        http.Response.Headers.WWWAuthenticate = "Basic realm=\"Monolith jobs\", charset=\"UTF-8\"";
        return Task.FromResult(false);
    }

    internal static string? BasicPassword(string header)
    {
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? null : decoded[(colon + 1)..];
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
