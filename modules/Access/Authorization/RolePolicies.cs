using Microsoft.AspNetCore.Authorization;
using Monolith.Access.Tokens;
using Monolith.SharedKernel.Context;

namespace Monolith.Access.Authorization;

/// <summary>One policy per minimum role (CONTRACT §3); the fallback demands an authenticated user, so nothing is open by default.</summary>
internal static class RolePolicies
{
    public static void Add(AuthorizationOptions options)
    {
        Add(options, Policies.Viewer, Roles.Viewer);
        Add(options, Policies.Member, Roles.Member);
        Add(options, Policies.Admin, Roles.Admin);
        Add(options, Policies.Owner, Roles.Owner);
        options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
    }

    private static void Add(AuthorizationOptions options, string name, string minimumRole) =>
        options.AddPolicy(name, policy => policy
            .RequireAuthenticatedUser()
            .RequireAssertion(context => Roles.IsAtLeast(context.User.FindFirst(AccessClaims.Role)?.Value, minimumRole)));
}
