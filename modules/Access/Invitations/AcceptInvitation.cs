using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Monolith.Access.Auth;
using Monolith.Access.Authorization;
using Monolith.Access.Passwords;
using Monolith.Access.Sessions;
using Monolith.Access.Tokens;
using Monolith.Access.Users;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Access.Invitations;

internal sealed record AcceptInvitationRequest(string? Token, string? Name, string? Password);

/// <summary>
/// <c>POST /invitations/accept</c> (anonymous: the mail's token is the credential): the invited address becomes a user
/// with the invited role and a verified address (the mail reached it), signed in at once (201, a token pair). A token
/// that is unknown, expired, cancelled or used is 400 <c>invalid-token</c>. The password is hashed between two short
/// transactions, so no pooled connection waits for it; the second one takes the invitation again, locked.
/// </summary>
internal static class AcceptInvitation
{
    public static async Task<Results<Created<TokenResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        AcceptInvitationRequest request, TenantDatabase database, TenantContext tenants, UserPasswords passwords, AccessTokenIssuer issuer,
        IOptions<AccessOptions> options, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(request.Token))
        {
            errors.Add("token", "token is required.");
        }

        if (request.Name is not null)
        {
            errors.AddIfAny("name", UserRules.ValidateName(request.Name));
        }

        errors.AddIfAny("password", UserPasswords.Validate(request.Password, null));
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        if (!AccountTokens.IsPlausible(request.Token))
        {
            return AccountTokens.InvalidToken();
        }

        var tokenHash = AccountTokens.Hash(request.Token!);
        InvitationRow? invitation;
        await using (var read = await database.BeginAsync(ct))
        {
            invitation = await InvitationStore.FindLiveByTokenAsync(read.Connection, read.Transaction, tokenHash, clock.GetUtcNow(), forUpdate: false, ct);
            await read.CommitAsync(ct);
        }

        if (invitation is null)
        {
            return AccountTokens.InvalidToken();
        }

        errors.AddIfAny("password", UserPasswords.Validate(request.Password, invitation.Email));
        var name = request.Name?.Trim() ?? invitation.Name ?? UserRules.NameFromEmail(invitation.Email, "User");
        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        var hash = await passwords.HashAsync(request.Password!, ct);
        var userId = Guid.CreateVersion7();
        Actor.ActAs(userId, invitation.Email);
        await using var unit = await database.BeginAsync(ct);
        invitation = await InvitationStore.FindLiveByTokenAsync(unit.Connection, unit.Transaction, tokenHash, clock.GetUtcNow(), forUpdate: true, ct);
        if (invitation is null)
        {
            return AccountTokens.InvalidToken(); // cancelled, resent or accepted meanwhile
        }

        UserRow user;
        try
        {
            user = await UserStore.InsertAsync(unit.Connection, unit.Transaction, invitation.Email, name, invitation.Role, hash, emailVerified: true, ct, userId);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Problems.Conflict("email-taken", "A user with that e-mail address exists in this tenant; sign in instead.");
        }

        await InvitationStore.SetStatusAsync(unit.Connection, unit.Transaction, invitation.Id, InvitationStatus.Accepted, user.Id, ct);
        var (sessionId, refresh) = await SessionStore.StartAsync(unit.Connection, unit.Transaction, user.Id, options.Value.RefreshTokenDays, ct);
        await unit.CommitAsync(ct);

        var access = issuer.Issue(user.Id, user.Email, user.Role, tenants.Required, sessionId);
        return TypedResults.Created("/me", new TokenResponse(access.Token, refresh, "Bearer", access.ExpiresIn));
    }
}
