using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.Access.Passwords;
using Monolith.Access.Sessions;
using Monolith.Access.Users;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy;

namespace Monolith.Access.Me;

internal sealed record ChangePasswordRequest(string? CurrentPassword, string? NewPassword);

/// <summary>
/// <c>POST /me/password</c> for every role: the current password proves it is the user (400 naming
/// <c>currentPassword</c> when wrong), the new one follows the policy; the caller's other sessions end, this one stays.
/// Both hashes are computed holding no connection; the write happens only if the hash is still the one checked.
/// </summary>
internal static class ChangePassword
{
    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> HandleAsync(
        ChangePasswordRequest request, HttpContext http, AccessDatabase database, UserPasswords passwords, CurrentUsers users,
        TenantContext tenants, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrEmpty(request.CurrentPassword) || request.CurrentPassword.Length > UserPasswords.MaximumLength)
        {
            errors.Add("currentPassword", "currentPassword is required.");
        }

        errors.AddIfAny("newPassword", UserPasswords.Validate(request.NewPassword, null, "newPassword"));
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        User? me;
        await using (var read = await database.BeginAsync(ct))
        {
            me = await Actor.LoadAsync(read.Db, http.User, ct);
            await read.CommitAsync(ct);
        }

        if (me is null)
        {
            return UsersEndpoints.ActorGone();
        }

        errors.AddIfAny("newPassword", UserPasswords.Validate(request.NewPassword, me.Email, "newPassword"));
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        if (await passwords.VerifyAsync(me.PasswordHash, request.CurrentPassword!, ct) == PasswordCheck.Failed)
        {
            return Problems.Validation("currentPassword", "currentPassword is not your current password.");
        }

        var hash = await passwords.HashAsync(request.NewPassword!, ct);
        await using var unit = await database.BeginAsync(ct);
        // Only if the hash is still the one checked: a password changed meanwhile wins.
        var changed = await unit.Db.Users.Where(u => u.Id == me.Id && u.PasswordHash == me.PasswordHash && u.Status == UserStatus.Active)
            .ExecuteUpdateAsync(s => s
                .SetProperty(u => u.PasswordHash, hash)
                .SetProperty(u => u.Version, u => u.Version + 1)
                .SetProperty(u => u.UpdatedAt, DateTimeOffset.UtcNow), ct);
        if (changed == 0)
        {
            return Problems.Conflict("password-changed", "Your password was changed meanwhile; sign in again.");
        }

        await unit.Db.EndAllSessionsAsync(me.Id, SessionEndReasons.Password, ct, keep: MeEndpoints.SessionId(http.User));
        await unit.CommitAsync(ct);
        users.Forget(tenants.Required.Id, me.Id);
        return TypedResults.NoContent();
    }
}
