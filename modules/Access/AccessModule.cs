using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Monolith.Access.Authorization;
using Monolith.Access.RateLimiting;
using Monolith.Access.Tokens;

namespace Monolith.Access;

public static class AccessModule
{
    /// <summary>Bearer authentication, the role policies, the rate limits, users and the tenant owner setup.</summary>
    public static IHostApplicationBuilder AddAccess(this IHostApplicationBuilder builder)
    {
        if (builder.Environment.IsProduction())
        {
            var key = builder.Configuration[$"{AccessOptions.Section}:SigningKey"];
            if (string.IsNullOrEmpty(key))
            {
                throw new InvalidOperationException(SigningKeys.MissingKeyMessage);
            }

            SigningKeys.Check(key);
        }

        var services = builder.Services;
        services.AddOptions<AccessOptions>().Bind(builder.Configuration.GetSection(AccessOptions.Section));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<SigningKeys>();
        services.AddSingleton<AccessTokenIssuer>();
        services.AddSingleton<IConfigureOptions<JwtBearerOptions>, BearerSetup>();
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddAuthorization(RolePolicies.Add);
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, UnroutedRequests>();
        AccessRateLimits.Add(services);
        return builder;
    }

    /// <summary>After authentication: the token's user becomes the operation's actor and the log events' UserId.</summary>
    public static IApplicationBuilder UseAuthenticatedUser(this IApplicationBuilder app) => app.UseMiddleware<AuthenticatedUserMiddleware>();

    public static IEndpointRouteBuilder MapAccess(this IEndpointRouteBuilder app) => app;
}
