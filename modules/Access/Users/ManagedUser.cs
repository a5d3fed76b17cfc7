using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Access.Data;
using Monolith.SharedKernel.Http;

namespace Monolith.Access.Users;

/// <summary>
/// What every change to another user starts with, in the change's transaction: the active owners locked (for the
/// last-owner rule), the caller read again (their role as it is now), the target row locked (and tracked), and the caller
/// allowed to manage that user. <c>Problem</c> is set when the change cannot go on (401, 404, 403).
/// </summary>
internal sealed record ManagedUser(List<Guid> ActiveOwners, User Actor, User User)
{
    /// <param name="change">How the 403 words the change: "Only an owner can {change} an owner."</param>
    public static async Task<(ManagedUser? Managed, ProblemHttpResult? Problem)> LockAsync(
        AccessDbContext db, Guid id, ClaimsPrincipal caller, string change, CancellationToken ct)
    {
        var owners = await db.LockActiveOwnersAsync(ct);
        var actor = await Authorization.Actor.LoadAsync(db, caller, ct);
        if (actor is null)
        {
            return (null, UsersEndpoints.ActorGone());
        }

        var user = await db.Users.FindLockedAsync(id, ct);
        if (user is null)
        {
            return (null, UsersEndpoints.NotFound());
        }

        return UserRules.CanManage(actor.Role, user.Role)
            ? (new ManagedUser(owners, actor, user), null)
            : (null, Problems.Forbidden("owner-required", $"Only an owner can {change} an owner."));
    }
}
