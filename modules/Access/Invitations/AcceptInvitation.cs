using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Monolith.Access.Auth;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.Access.Passwords;
using Monolith.Access.Sessions;
using Monolith.Access.Tokens;
using Monolith.Access.Users;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy;
using Monolith.Tenancy.Isolation;

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
        AcceptInvitationRequest request, AccessDatabase database, TenantContext tenants, UserPasswords passwords, AccessTokenIssuer issuer,
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
        Invitation? invitation;
        await using (var read = await database.BeginAsync(ct))
        {
            invitation = await read.Db.Invitations.FindLiveByTokenAsync(tokenHash, clock.GetUtcNow(), ct);
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
        invitation = await unit.Db.Invitations.FindLiveByTokenLockedAsync(tokenHash, clock.GetUtcNow(), ct);
        if (invitation is null)
        {
            return AccountTokens.InvalidToken(); // cancelled, resent or accepted meanwhile
        }

        User user;
        try
        {
            user = await unit.Db.InsertAsync(invitation.Email, name, invitation.Role, hash, emailVerified: true, ct, userId);
        }
        catch (Exception e) when (e.IsUniqueViolation())
        {
            return Problems.Conflict("email-taken", "A user with that e-mail address exists in this tenant; sign in instead.");
        }

        await unit.Db.SetStatusAsync(invitation, InvitationStatus.Accepted, user.Id, ct);
        var (sessionId, refresh) = await unit.Db.StartSessionAsync(user.Id, options.Value.RefreshTokenDays, ct);
        await unit.CommitAsync(ct);

        var access = issuer.Issue(user.Id, user.Email, user.Role, tenants.Required, sessionId);
        return TypedResults.Created("/me", new TokenResponse(access.Token, refresh, "Bearer", access.ExpiresIn));
    }
}
