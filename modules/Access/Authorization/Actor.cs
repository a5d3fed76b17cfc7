using System.Security.Claims;
using Monolith.Access.Data;
using Monolith.Access.Tokens;
using Monolith.Access.Users;

namespace Monolith.Access.Authorization;

/// <summary>The calling user: the token names them, the database says what they are now.</summary>
internal static class Actor
{
    public static Guid? UserId(ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirst(AccessClaims.Subject)?.Value, out var id) ? id : null;

    /// <summary>
    /// For the anonymous flows whose mail token names the user (accept, verify, reset): the changes they make are the
    /// user's own, and the audit trail says so. Call before the writing transaction begins (it carries the actor).
    /// </summary>
    public static void ActAs(Guid userId, string email)
    {
        if (SharedKernel.Context.OperationContext.Current is { } operation)
        {
            operation.ActorKind = SharedKernel.Context.ActorKinds.User;
            operation.ActorId = userId;
            operation.ActorEmail = email;
        }
    }

    /// <summary>The caller's current row when they still exist and are active; null otherwise (answer 401).</summary>
    public static async Task<User?> LoadAsync(AccessDbContext db, ClaimsPrincipal principal, CancellationToken ct) =>
        UserId(principal) is { } id && await db.Users.FindByIdAsync(id, ct) is { Status: UserStatus.Active } row ? row : null;
}
