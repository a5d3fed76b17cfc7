using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.Access.Users;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;

namespace Monolith.Access.Me;

internal sealed record TransferOwnershipRequest(Guid? UserId);

/// <summary>
/// <c>POST /me/transfer-ownership</c> (owners only): in one transaction the user becomes owner and the caller admin, so
/// the tenant is never without an owner and never has one more than was meant. The target must be an active user.
/// </summary>
internal static class TransferOwnership
{
    public static async Task<Results<Ok<UserResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        TransferOwnershipRequest request, HttpContext http, AccessDatabase database, CurrentUsers users, TenantContext tenants, CancellationToken ct)
    {
        if (request.UserId is not { } targetId || targetId == Guid.Empty)
        {
            return Problems.Validation("userId", "userId is required.");
        }

        await using var unit = await database.BeginAsync(ct);
        // The owners' lock first, as every change that can touch the last owner takes it (UserStore.LockActiveOwnersAsync).
        await unit.Db.LockActiveOwnersAsync(ct);
        var me = await Actor.LoadAsync(unit.Db, http.User, ct);
        if (me is null)
        {
            return UsersEndpoints.ActorGone();
        }

        if (me.Role != Roles.Owner)
        {
            return Problems.Forbidden("owner-required", "Only an owner can hand over ownership.");
        }

        if (targetId == me.Id)
        {
            return Problems.Validation("userId", "userId must be another user: you are an owner already.");
        }

        var target = await unit.Db.Users.FindLockedAsync(targetId, ct);
        if (target is null)
        {
            return UsersEndpoints.NotFound();
        }

        if (target.Status != UserStatus.Active)
        {
            return Problems.Conflict("user-disabled", "Ownership can only go to an active user.");
        }

        // The caller is an active owner, so the owners' lock holds their row too: tracked from here, both are written by SaveChanges.
        unit.Db.Attach(me);
        target.Role = Roles.Owner;
        target.Changed();
        me.Role = Roles.Admin;
        me.Changed();
        await unit.Db.SaveChangesAsync(ct);
        await unit.CommitAsync(ct);
        users.Forget(tenants.Required.Id, me.Id);
        users.Forget(tenants.Required.Id, target.Id);
        return TypedResults.Ok(target.ToResponse());
    }
}
