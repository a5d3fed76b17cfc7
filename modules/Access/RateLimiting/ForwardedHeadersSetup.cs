using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Monolith.Access.RateLimiting;

/// <summary>
/// Whose <c>X-Forwarded-For</c> is believed (CONTRACT §3): only the proxies named in
/// <c>ForwardedHeaders:KnownProxies:0..n</c> (addresses, or networks as <c>10.0.0.0/8</c>). ASP.NET Core's default
/// trust of the loopback addresses is dropped, so with nothing configured the header is ignored from everyone and each
/// client is counted by the address it connects from. Behind a chain of known proxies the entries are walked from the
/// right until the first address that is not a known proxy: that is the client. A value that is neither an address
/// nor a network stops start-up.
/// </summary>
internal static class ForwardedHeadersSetup
{
    public const string Section = "ForwardedHeaders";

    public static void Add(IServiceCollection services, IConfiguration configuration)
    {
        var proxies = new List<IPAddress>();
        var networks = new List<System.Net.IPNetwork>();
        foreach (var child in configuration.GetSection($"{Section}:KnownProxies").GetChildren())
        {
            var value = child.Value?.Trim();
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            if (value.Contains('/', StringComparison.Ordinal) && System.Net.IPNetwork.TryParse(value, out var network))
            {
                networks.Add(network);
            }
            else if (IPAddress.TryParse(value, out var address))
            {
                proxies.Add(address);
            }
            else
            {
                throw new InvalidOperationException(
                    $"{Section}__KnownProxies__{child.Key} is neither an IP address nor a network (address/prefix length).");
            }
        }

        services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            options.ForwardLimit = null;
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var proxy in proxies)
            {
                options.KnownProxies.Add(proxy);
            }

            foreach (var network in networks)
            {
                options.KnownIPNetworks.Add(network);
            }
        });
    }
}
