using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.Access.Users;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;

namespace Monolith.Access.Me;

internal sealed record MeResponse(Guid Id, string Email, string Name, string Role, string Tenant, bool EmailVerified);

/// <summary><c>GET /me</c>: the caller as the database knows them now.</summary>
internal static class GetMe
{
    public static async Task<Results<Ok<MeResponse>, ProblemHttpResult>> HandleAsync(HttpContext http, AccessDatabase database, TenantContext tenants, CancellationToken ct)
    {
        if (Actor.UserId(http.User) is not { } id)
        {
            return MeEndpoints.NotSignedIn();
        }

        await using var unit = await database.BeginAsync(ct);
        var user = await unit.Db.Users.FindByIdAsync(id, ct);
        await unit.CommitAsync(ct);
        return user is { Status: UserStatus.Active }
            ? TypedResults.Ok(new MeResponse(user.Id, user.Email, user.Name, user.Role, tenants.Required.Identifier, user.EmailVerified))
            : Problems.Unauthorized("unauthorized", "The account of this token no longer exists or is disabled.");
    }
}
