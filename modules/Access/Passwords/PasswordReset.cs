using System.ComponentModel;
using Hangfire;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.Access.Mail;
using Monolith.Access.Sessions;
using Monolith.Access.Tokens;
using Monolith.Access.Users;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy;

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
internal sealed class PasswordReset(AccessDatabase database, TenantContext tenants, AccountMails mails, IOptions<AccountOptions> options, TimeProvider clock)
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
        var user = await unit.Db.Users.FindByEmailLockedAsync(email, ct);
        if (user is { Status: UserStatus.Active } && !await SentRecentlyAsync(unit.Db, user.Id, ct))
        {
            var minutes = Math.Max(1, options.Value.PasswordResetMinutes);
            var token = await AccountTokens.IssueAsync(
                unit.Db, user.Id, AccountTokenPurposes.PasswordReset, user.Email, clock.GetUtcNow(), TimeSpan.FromMinutes(minutes), ct);
            await MailOutbox.EnqueueAsync(unit.Db, mails.PasswordReset(user.Email, tenants.Required.Identifier, token, minutes), ct);
        }

        await unit.CommitAsync(ct);
    }

    /// <summary>Whether the user got a reset mail within <c>Access:PasswordResetIntervalSeconds</c> (the user's row is locked, so parallel jobs count each other).</summary>
    private Task<bool> SentRecentlyAsync(AccessDbContext db, Guid userId, CancellationToken ct)
    {
        var since = clock.GetUtcNow().AddSeconds(-Math.Max(0, options.Value.PasswordResetIntervalSeconds));
        return db.AccountTokens.AnyAsync(t => t.UserId == userId && t.Purpose == AccountTokenPurposes.PasswordReset && t.CreatedAt > since, ct);
    }

    /// <summary><c>POST /auth/password-reset/confirm</c>: 204; 400 <c>invalid-token</c> for a token that is unknown, expired or used.</summary>
    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> ConfirmAsync(
        PasswordResetConfirmation request, AccessDatabase database, UserPasswords passwords, CurrentUsers users, TenantContext tenants,
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

        AccountTokenProof? live;
        await using (var read = await database.BeginAsync(ct))
        {
            live = await AccountTokens.FindLiveAsync(read.Db, request.Token!, AccountTokenPurposes.PasswordReset, clock.GetUtcNow(), ct);
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
        if (await AccountTokens.SpendAsync(unit.Db, request.Token!, AccountTokenPurposes.PasswordReset, clock.GetUtcNow(), ct) is not { } spent)
        {
            return AccountTokens.InvalidToken();
        }

        // SQL for lower() = lower(), the database's case rules (as the unique index), not the host's.
        var reset = await unit.Db.Database.ExecuteSqlAsync(
            $"""
             UPDATE users SET password_hash = {hash}, email_verified = email_verified OR lower(email) = lower({spent.Email}),
                              failed_login_count = 0, failed_login_since = NULL, version = version + 1, updated_at = now()
             WHERE id = {spent.UserId} AND status = 'active'
             """, ct);
        if (reset == 0)
        {
            return AccountTokens.InvalidToken(); // disabled since the mail: the link is dead with the account
        }

        await unit.Db.EndAllSessionsAsync(spent.UserId, SessionEndReasons.Password, ct);
        await Auth.LoginAttempts.ResetAsync(unit.Db, spent.Email, ct);
        await unit.CommitAsync(ct);
        users.Forget(tenants.Required.Id, spent.UserId);
        return TypedResults.NoContent();
    }
}
