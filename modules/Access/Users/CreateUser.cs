using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.Access.Passwords;
using Monolith.Access.Verification;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Isolation;

namespace Monolith.Access.Users;

internal sealed record CreateUserRequest(string? Email, string? Name, string? Role, string? Password);

/// <summary><c>POST /users</c>: a new active user with an unverified address and its verification mail; nobody creates a user above their own role.</summary>
internal static class CreateUser
{
    public static async Task<Results<Created<UserResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        CreateUserRequest request, HttpContext http, AccessDatabase database, UserPasswords passwords, EmailVerifications verifications,
        CancellationToken ct)
    {
        var errors = new ValidationErrors();
        errors.AddIfAny("email", UserRules.ValidateEmail(request.Email));
        errors.AddIfAny("name", UserRules.ValidateName(request.Name));
        errors.AddIfAny("role", UserRules.ValidateRole(request.Role));
        errors.AddIfAny("password", UserPasswords.Validate(request.Password, request.Email));
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        // The hash first, holding no connection.
        var hash = await passwords.HashAsync(request.Password!, ct);
        await using var unit = await database.BeginAsync(ct);
        var actor = await Actor.LoadAsync(unit.Db, http.User, ct);
        if (actor is null)
        {
            return UsersEndpoints.ActorGone();
        }

        if (!UserRules.CanGrant(actor.Role, request.Role!))
        {
            return Problems.Forbidden("role-escalation", "Nobody can grant a role above their own.");
        }

        try
        {
            var user = await unit.Db.InsertAsync(
                request.Email!.Trim(), request.Name!.Trim(), request.Role!, hash, emailVerified: false, ct);
            await verifications.SendAsync(unit.Db, user.Id, user.Email, ct);
            await unit.CommitAsync(ct);
            http.Response.Headers.ETag = user.ETag;
            return TypedResults.Created($"/users/{user.Id}", user.ToResponse());
        }
        catch (Exception e) when (e.IsUniqueViolation())
        {
            return Problems.Conflict("email-taken", "A user with that e-mail address exists in this tenant.");
        }
    }
}
