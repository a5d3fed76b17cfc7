using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.Access.Passwords;
using Monolith.Access.Sessions;
using Monolith.Access.Verification;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Preconditions;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy;
using Monolith.Tenancy.Isolation;

namespace Monolith.Access.Users;

/// <summary>Every member optional; an absent (or null) member stays as it is.</summary>
internal sealed record UpdateUserRequest(string? Email, string? Name, string? Role, string? Status, string? Password);

/// <summary>
/// <c>PATCH /users/{id}</c>. Owners are changed only by owners; nobody grants above their own role; the last
/// active owner can be neither demoted nor disabled (409). Disabling or a new password ends the user's sessions; a
/// changed address becomes unverified and gets a verification mail; a new role applies to the sessions as they are (docs/adr/0013).
/// </summary>
internal static class UpdateUser
{
    public static async Task<Results<Ok<UserResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        Guid id, UpdateUserRequest request, HttpContext http, AccessDatabase database, UserPasswords passwords, CurrentUsers users,
        TenantContext tenants, EmailVerifications verifications, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (request.Email is not null)
        {
            errors.AddIfAny("email", UserRules.ValidateEmail(request.Email));
        }

        if (request.Name is not null)
        {
            errors.AddIfAny("name", UserRules.ValidateName(request.Name));
        }

        if (request.Role is not null)
        {
            errors.AddIfAny("role", UserRules.ValidateRole(request.Role));
        }

        if (request.Status is not null && !UserStatus.All.Contains(request.Status))
        {
            errors.Add("status", $"status must be one of: {string.Join(", ", UserStatus.All)}.");
        }

        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        if (request.Password is not null)
        {
            errors.AddIfAny("password", UserPasswords.Validate(request.Password, request.Email));
            if (errors.Any)
            {
                return Problems.Validation(errors);
            }
        }

        // The hash before the transaction: no row lock and no pooled connection waits for it.
        var newHash = request.Password is null ? null : await passwords.HashAsync(request.Password, ct);
        await using var unit = await database.BeginAsync(ct);
        var (managed, problem) = await ManagedUser.LockAsync(unit.Db, id, http.User, "change", ct);
        if (managed is null)
        {
            return problem!;
        }

        var (owners, actor, user) = managed;

        if (request.Role is not null && request.Role != user.Role && !UserRules.CanGrant(actor.Role, request.Role))
        {
            return Problems.Forbidden("role-escalation", "Nobody can grant a role above their own.");
        }

        if (!IfMatch.Allows(http.Request, user.ETag))
        {
            return Problems.PreconditionFailed();
        }

        var email = request.Email?.Trim() ?? user.Email;
        if (request.Password is not null)
        {
            errors.AddIfAny("password", UserPasswords.Validate(request.Password, email));
            if (errors.Any)
            {
                return Problems.Validation(errors);
            }
        }

        var wasActive = user.Status == UserStatus.Active;
        var emailChanged = !string.Equals(email, user.Email, StringComparison.OrdinalIgnoreCase);
        var staysActiveOwner = (request.Role ?? user.Role) == Roles.Owner && (request.Status ?? user.Status) == UserStatus.Active;
        if (UserRules.RemovesLastOwner(owners, user.Id, staysActiveOwner))
        {
            return Problems.Conflict("last-owner", "The last active owner cannot be demoted or disabled; make another user owner first.");
        }

        // The row is locked and tracked: SaveChanges writes the columns that changed, the version and updated_at.
        user.Email = email;
        user.Name = request.Name?.Trim() ?? user.Name;
        user.Role = request.Role ?? user.Role;
        user.Status = request.Status ?? user.Status;
        user.PasswordHash = newHash ?? user.PasswordHash;
        if (emailChanged)
        {
            user.EmailVerified = false;
        }

        user.Changed();
        try
        {
            await unit.Db.SaveChangesAsync(ct);
        }
        catch (Exception e) when (e.IsUniqueViolation())
        {
            return Problems.Conflict("email-taken", "A user with that e-mail address exists in this tenant.");
        }

        // A new role needs nothing more: every instance applies it within a second (the users trigger tells them).
        // Disabling and a new password end the user's sessions, refresh and access tokens alike.
        var disabled = user.Status != UserStatus.Active && wasActive;
        if (disabled || request.Password is not null)
        {
            await unit.Db.EndAllSessionsAsync(user.Id, disabled ? SessionEndReasons.Disabled : SessionEndReasons.Password, ct);
        }

        // A new address is unverified until its owner answers the mail sent to it.
        if (emailChanged)
        {
            await verifications.SendAsync(unit.Db, user.Id, user.Email, ct);
        }

        await unit.CommitAsync(ct);
        users.Forget(tenants.Required.Id, user.Id);
        http.Response.Headers.ETag = user.ETag;
        return TypedResults.Ok(user.ToResponse());
    }
}
