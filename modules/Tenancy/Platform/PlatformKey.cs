using Microsoft.AspNetCore.Builder;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Http.OpenApi;

namespace Monolith.Tenancy.Platform;

public sealed class PlatformOptions
{
    public const string Section = "Platform";

    /// <summary>The key provisioning scripts send as <c>X-Platform-Key</c>. A secret: from the environment, never a default.</summary>
    public string? ApiKey { get; set; }
}

/// <summary>Checks <c>X-Platform-Key</c> in constant time. With no key configured, nothing opens the platform API.</summary>
internal sealed class PlatformKey(IOptions<PlatformOptions> options)
{
    public const string HeaderName = "X-Platform-Key";

    private readonly byte[]? expectedHash = string.IsNullOrEmpty(options.Value.ApiKey) ? null : Hash(options.Value.ApiKey);

    public bool IsValid(string? presented) =>
        expectedHash is not null && !string.IsNullOrEmpty(presented) && CryptographicOperations.FixedTimeEquals(Hash(presented), expectedHash);

    public bool IsValid(HttpContext context) => IsValid(context.Request.Headers[HeaderName].ToString());

    /// <summary>The one answer to a request without a valid key, from the endpoint filter and from <see cref="PlatformKeyGate"/>.</summary>
    public static IResult Refusal() => Problems.Unauthorized("platform-key-required", $"The platform API needs a valid {HeaderName} header.");

    private static byte[] Hash(string value) => SHA256.HashData(Encoding.UTF8.GetBytes(value));
}

public static class PlatformEndpointExtensions
{
    private static readonly ApiKeySecurityMetadata SecurityScheme = new("platformKey", PlatformKey.HeaderName,
        "The platform API key (Platform__ApiKey), for provisioning scripts and operators; it opens /platform/* only.");

    /// <summary>
    /// Puts endpoints behind <c>X-Platform-Key</c>, whichever module maps them. The key is their only credential:
    /// anonymous for the authorization layer (a bearer token opens nothing here), checked by the filter.
    /// </summary>
    public static TBuilder RequirePlatformKey<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.AllowAnonymous();
        builder.AddEndpointFilter<TBuilder, PlatformKeyFilter>();
        builder.WithMetadata(SecurityScheme);
        builder.ProducesProblems(StatusCodes.Status401Unauthorized, "platform-key-required");
        builder.ProducesProblems(StatusCodes.Status503ServiceUnavailable, "database-unavailable");
        return builder;
    }
}

internal sealed class PlatformKeyFilter(PlatformKey key) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (!key.IsValid(context.HttpContext))
        {
            return PlatformKey.Refusal();
        }

        if (SharedKernel.Context.OperationContext.Current is { } current)
        {
            current.ActorKind = SharedKernel.Context.ActorKinds.Platform;
            current.ActorName = "platform";
        }

        return await next(context);
    }
}
