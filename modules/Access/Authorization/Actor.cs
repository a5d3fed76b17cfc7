using System.Security.Claims;
using Monolith.Access.Tokens;
using Monolith.Access.Users;
using Npgsql;

namespace Monolith.Access.Authorization;

/// <summary>The calling user: the token names them, the database says what they are now.</summary>
internal static class Actor
{
    public static Guid? UserId(ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirst(AccessClaims.Subject)?.Value, out var id) ? id : null;

    /// <summary>The caller's current row when they still exist and are active; null otherwise (answer 401).</summary>
    public static async Task<UserRow?> LoadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, ClaimsPrincipal principal, CancellationToken ct) =>
        UserId(principal) is { } id && await UserStore.FindAsync(connection, id, ct, transaction) is { Status: UserStatus.Active } row ? row : null;
}
