using System.ComponentModel;
using Hangfire;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Monolith.Access.Authorization;
using Monolith.Access.Mail;
using Monolith.Access.Sessions;
using Monolith.Access.Tokens;
using Monolith.Access.Users;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy;
using Monolith.Tenancy.Isolation;

namespace Monolith.Access.Passwords;

internal sealed record PasswordResetRequest(string? Email);

internal sealed record PasswordResetConfirmation(string? Token, string? Password);

/// <summary>
/// Password reset (CONTRACT §5). The request answers 202 after the same work whatever the address: it only hands the
/// address to a background job (<see cref="SendAsync"/>), which looks the user up and, for a known active user, writes
/// the token and its mail in one transaction. So neither the answer nor its time tells whether the address exists.
/// The confirmation spends the token (valid <c>Access:PasswordResetMinutes</c>, once), sets the password, marks the
/// address verified (the mail reached it) and ends every session of the user.
/// </summary>
internal sealed class PasswordReset(TenantDatabase database, TenantContext tenants, AccountMails mails, IOptions<AccountOptions> options, TimeProvider clock)
{
    /// <summary><c>POST /auth/password-reset</c>.</summary>
    public static Results<Accepted, ValidationProblem> Request(PasswordResetRequest request, IBackgroundJobClient jobs)
    {
        if (UserRules.ValidateEmail(request.Email) is { } error)
        {
            return Problems.Validation("email", error);
        }

        // The job carries the tenant (TenantJobFilter) and the address; nothing is looked up here.
        jobs.Enqueue<PasswordReset>(reset => reset.SendAsync(request.Email!.Trim(), CancellationToken.None));
        return TypedResults.Accepted((string?)null);
    }

    /// <summary>The background half: a token and a mail for a known, active user; nothing at all for any other address.</summary>
    [DisplayName("Access: password reset mail")]
    public async Task SendAsync(string email, CancellationToken ct)
    {
        await using var unit = await database.BeginAsync(ct);
        var user = await UserStore.FindByEmailAsync(unit.Connection, unit.Transaction, email, ct, forUpdate: true);
        if (user is { Status: UserStatus.Active } && !await SentRecentlyAsync(unit, user.Id, ct))
        {
            var minutes = Math.Max(1, options.Value.PasswordResetMinutes);
            var token = await AccountTokens.IssueAsync(
                unit.Connection, unit.Transaction, user.Id, AccountTokenPurposes.PasswordReset, user.Email, clock.GetUtcNow(), TimeSpan.FromMinutes(minutes), ct);
            await MailOutbox.EnqueueAsync(unit.Connection, unit.Transaction, mails.PasswordReset(user.Email, tenants.Required.Identifier, token, minutes), ct);
        }

        await unit.CommitAsync(ct);
    }

    /// <summary>Whether the user got a reset mail within <c>Access:PasswordResetIntervalSeconds</c> (the user's row is locked, so parallel jobs count each other).</summary>
    private async Task<bool> SentRecentlyAsync(TenantConnection unit, Guid userId, CancellationToken ct)
    {
        await using var command = unit.Command(
            "SELECT EXISTS (SELECT 1 FROM account_tokens WHERE user_id = $1 AND purpose = $2 AND created_at > $3)");
        command.Parameters.AddWithValue(userId);
        command.Parameters.AddWithValue(AccountTokenPurposes.PasswordReset);
        command.Parameters.AddWithValue(clock.GetUtcNow().AddSeconds(-Math.Max(0, options.Value.PasswordResetIntervalSeconds)));
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary><c>POST /auth/password-reset/confirm</c>: 204; 400 <c>invalid-token</c> for a token that is unknown, expired or used.</summary>
    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> ConfirmAsync(
        PasswordResetConfirmation request, TenantDatabase database, UserPasswords passwords, CurrentUsers users, TenantContext tenants,
        TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(request.Token))
        {
            errors.Add("token", "token is required.");
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

        (Guid UserId, string Email)? live;
        await using (var read = await database.BeginAsync(ct))
        {
            live = await AccountTokens.FindLiveAsync(read.Connection, read.Transaction, request.Token!, AccountTokenPurposes.PasswordReset, clock.GetUtcNow(), ct);
            await read.CommitAsync(ct);
        }

        if (live is not { } found)
        {
            return AccountTokens.InvalidToken();
        }

        if (UserPasswords.Validate(request.Password, found.Email) is { } sameAsEmail)
        {
            return Problems.Validation("password", sameAsEmail);
        }

        // The hash between the transactions; the second spends the token (once, whoever races) and sets the password.
        var hash = await passwords.HashAsync(request.Password!, ct);
        Actor.ActAs(found.UserId, found.Email);
        await using var unit = await database.BeginAsync(ct);
        if (await AccountTokens.SpendAsync(unit.Connection, unit.Transaction, request.Token!, AccountTokenPurposes.PasswordReset, clock.GetUtcNow(), ct) is not { } spent)
        {
            return AccountTokens.InvalidToken();
        }

        await using (var command = unit.Command(
            """
            UPDATE users SET password_hash = $2, email_verified = email_verified OR lower(email) = lower($3),
                             failed_login_count = 0, failed_login_since = NULL, version = version + 1, updated_at = now()
            WHERE id = $1 AND status = 'active'
            """))
        {
            command.Parameters.AddWithValue(spent.UserId);
            command.Parameters.AddWithValue(hash);
            command.Parameters.AddWithValue(spent.Email);
            if (await command.ExecuteNonQueryAsync(ct) == 0)
            {
                return AccountTokens.InvalidToken(); // disabled since the mail: the link is dead with the account
            }
        }

        await SessionStore.EndAllAsync(unit.Connection, unit.Transaction, spent.UserId, SessionEndReasons.Password, ct);
        await Auth.LoginAttempts.ResetAsync(unit, spent.Email, ct);
        await unit.CommitAsync(ct);
        users.Forget(tenants.Required.Id, spent.UserId);
        return TypedResults.NoContent();
    }
}
