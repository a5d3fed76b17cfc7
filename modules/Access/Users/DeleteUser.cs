using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Preconditions;
using Monolith.Tenancy;

namespace Monolith.Access.Users;

/// <summary><c>DELETE /users/{id}</c>: owners only by owners; never the last active owner (409). Its sessions and tokens go with it.</summary>
internal static class DeleteUser
{
    public static async Task<Results<NoContent, ProblemHttpResult>> HandleAsync(
        Guid id, HttpContext http, AccessDatabase database, CurrentUsers users, TenantContext tenants, CancellationToken ct)
    {
        await using var unit = await database.BeginAsync(ct);
        var (managed, problem) = await ManagedUser.LockAsync(unit.Db, id, http.User, "remove", ct);
        if (managed is null)
        {
            return problem!;
        }

        var (owners, _, user) = managed;

        if (!IfMatch.Allows(http.Request, user.ETag))
        {
            return Problems.PreconditionFailed();
        }

        if (UserRules.RemovesLastOwner(owners, user.Id, staysActiveOwner: false))
        {
            return Problems.Conflict("last-owner", "The last active owner cannot be removed; make another user owner first.");
        }

        await unit.Db.Users.Where(u => u.Id == user.Id).ExecuteDeleteAsync(ct);
        await unit.CommitAsync(ct);
        users.Forget(tenants.Required.Id, user.Id);
        return TypedResults.NoContent();
    }
}
