using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.Access.Mail;
using Monolith.Access.Tokens;
using Monolith.Access.Users;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy;
using Monolith.Tenancy.Isolation;

namespace Monolith.Access.Invitations;

internal sealed record InvitationRequest(string? Email, string? Role, string? Name);

/// <summary>What inviting one address came to: the invitation (201) or a problem (400, 401, 403, 409).</summary>
internal sealed record InvitationOutcome(InvitationResponse? Invitation, IResult? Problem, int Status, string? Title);

/// <summary>
/// <c>POST /invitations</c>: a pending invitation and its mail, in one transaction. Nobody invites above their own role
/// (403); an address that is a user's, or has a pending invitation, is 409.
/// </summary>
internal static class CreateInvitation
{
    public static async Task<Results<Created<InvitationResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        InvitationRequest request, HttpContext http, Inviter invitations, CancellationToken ct)
    {
        var outcome = await invitations.InviteAsync(request, http.User, ct);
        return outcome.Invitation is { } invitation
            ? TypedResults.Created($"/invitations/{invitation.Id}", invitation)
            : outcome.Problem switch
            {
                ValidationProblem validation => validation,
                ProblemHttpResult problem => problem,
                _ => throw new InvalidOperationException("An invitation outcome has either an invitation or a problem."),
            };
    }
}

/// <summary>The invitation work shared by the single and the bulk endpoint.</summary>
internal sealed class Inviter(AccessDatabase database, TenantContext tenants, AccountMails mails, IOptions<AccountOptions> options, TimeProvider clock)
{
    public async Task<InvitationOutcome> InviteAsync(InvitationRequest request, ClaimsPrincipal caller, CancellationToken ct)
    {
        var errors = Validate(request);
        if (errors.Any)
        {
            var validation = Problems.Validation(errors);
            return new InvitationOutcome(null, validation, StatusCodes.Status400BadRequest, string.Join(" ", errors.ToDictionary().Values.SelectMany(m => m)));
        }

        var email = request.Email!.Trim();
        var name = string.IsNullOrWhiteSpace(request.Name) ? null : request.Name.Trim();
        var now = clock.GetUtcNow();
        var expiresAt = now.AddHours(Math.Max(1, options.Value.InvitationHours));
        var token = AccountTokens.New();

        await using var unit = await database.BeginAsync(ct);
        var actor = await Actor.LoadAsync(unit.Db, caller, ct);
        if (actor is null)
        {
            return Refused(UsersEndpoints.ActorGone(), StatusCodes.Status401Unauthorized, "The account of this token no longer exists or is disabled.");
        }

        if (!UserRules.CanGrant(actor.Role, request.Role!))
        {
            return Refused(Problems.Forbidden("role-escalation", "Nobody can invite someone to a role above their own."),
                StatusCodes.Status403Forbidden, "Nobody can invite someone to a role above their own.");
        }

        if (await unit.Db.Users.FindByEmailAsync(email, ct) is not null)
        {
            return Refused(Problems.Conflict("email-taken", "A user with that e-mail address exists in this tenant."),
                StatusCodes.Status409Conflict, "A user with that e-mail address exists in this tenant.");
        }

        Invitation invitation;
        try
        {
            invitation = await unit.Db.InsertAsync(
                email, name, request.Role!, AccountTokens.Hash(token), expiresAt, actor.Id, actor.Email, now, ct);
        }
        catch (Exception e) when (e.IsUniqueViolation())
        {
            return Refused(Problems.Conflict("invitation-pending", "That e-mail address has a pending invitation; resend or cancel it."),
                StatusCodes.Status409Conflict, "That e-mail address has a pending invitation; resend or cancel it.");
        }

        await MailOutbox.EnqueueAsync(unit.Db,
            mails.Invitation(email, tenants.Required.Identifier, token, invitation.Role, actor.Name, expiresAt), ct);
        await unit.CommitAsync(ct);
        return new InvitationOutcome(invitation.ToResponse(now), null, StatusCodes.Status201Created, null);
    }

    /// <summary>A new token, expiry and mail for a pending (or expired) invitation; the earlier link is dead from then on.</summary>
    public async Task<(InvitationResponse? Invitation, ProblemHttpResult? Problem)> ResendAsync(Guid id, ClaimsPrincipal caller, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var expiresAt = now.AddHours(Math.Max(1, options.Value.InvitationHours));
        var token = AccountTokens.New();
        await using var unit = await database.BeginAsync(ct);
        var actor = await Actor.LoadAsync(unit.Db, caller, ct);
        if (actor is null)
        {
            return (null, UsersEndpoints.ActorGone());
        }

        var invitation = await unit.Db.Invitations.FindLockedAsync(id, ct);
        if (invitation is null)
        {
            return (null, InvitationsEndpoints.NotFound());
        }

        if (!UserRules.CanGrant(actor.Role, invitation.Role))
        {
            return (null, Problems.Forbidden("role-escalation", "Nobody can invite someone to a role above their own."));
        }

        if (invitation.EffectiveStatus(now) is not (InvitationStatus.Pending or InvitationStatus.Expired))
        {
            return (null, Problems.Conflict("invitation-closed", $"The invitation is {invitation.EffectiveStatus(now)}; only a pending or expired one can be sent again."));
        }

        if (await unit.Db.Users.FindByEmailAsync(invitation.Email, ct) is not null)
        {
            return (null, Problems.Conflict("email-taken", "A user with that e-mail address exists in this tenant."));
        }

        try
        {
            await unit.Db.RenewAsync(invitation, AccountTokens.Hash(token), expiresAt, ct);
        }
        catch (Exception e) when (e.IsUniqueViolation())
        {
            // An expired invitation revived while the address was invited anew.
            return (null, Problems.Conflict("invitation-pending", "That e-mail address has another pending invitation."));
        }

        await MailOutbox.EnqueueAsync(unit.Db,
            mails.Invitation(invitation.Email, tenants.Required.Identifier, token, invitation.Role, actor.Name, expiresAt), ct);
        await unit.CommitAsync(ct);
        return (invitation.ToResponse(now), null);
    }

    private static ValidationErrors Validate(InvitationRequest request)
    {
        var errors = new ValidationErrors();
        errors.AddIfAny("email", UserRules.ValidateEmail(request.Email));
        errors.AddIfAny("role", UserRules.ValidateRole(request.Role));
        if (request.Name is not null && UserRules.ValidateName(request.Name) is { } nameError)
        {
            errors.Add("name", nameError);
        }

        return errors;
    }

    private static InvitationOutcome Refused(ProblemHttpResult problem, int status, string title) => new(null, problem, status, title);
}
