using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;

namespace Monolith.Access.Authorization;

/// <summary>
/// The fallback policy (authenticated user) also runs for requests that matched no endpoint. Those have
/// nothing to protect, so they go on to answer their 404 instead of a 401; every routed endpoint is
/// authorized as usual.
/// </summary>
internal sealed class UnroutedRequests : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler inner = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult) =>
        context.GetEndpoint() is null && !authorizeResult.Succeeded
            ? next(context)
            : inner.HandleAsync(next, context, policy, authorizeResult);
}
