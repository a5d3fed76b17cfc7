using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Monolith.Tenancy.Platform;

/// <summary>
/// The platform key as middleware, for what is not a route handler and so never runs endpoint filters (the Prometheus
/// scraping endpoint is a branch of middleware): the same check and the same 401 as <see cref="PlatformEndpointExtensions.RequirePlatformKey"/>.
/// </summary>
public static class PlatformKeyGate
{
    public static IApplicationBuilder UsePlatformKey(this IApplicationBuilder app)
    {
        var key = app.ApplicationServices.GetRequiredService<PlatformKey>();
        return app.Use(async (context, next) =>
        {
            if (!key.IsValid(context))
            {
                await PlatformKey.Refusal().ExecuteAsync(context);
                return;
            }

            await next(context);
        });
    }
}
