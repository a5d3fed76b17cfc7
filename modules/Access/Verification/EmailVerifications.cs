using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.Access.Mail;
using Monolith.Access.Tokens;
using Monolith.Access.Users;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;

namespace Monolith.Access.Verification;

internal sealed record VerifyEmailRequest(string? Token);

/// <summary>
/// E-mail verification (CONTRACT §5): a user an admin creates, or whose address changes, is unverified and gets a mail
/// whose token (valid <c>Access:EmailVerificationHours</c>, once) proves the address it was sent to. With the tenant
/// setting <c>access.require-verified-email</c> an unverified user cannot sign in (403 <c>email-unverified</c>).
/// </summary>
internal sealed class EmailVerifications(AccountMails mails, TenantContext tenants, IOptions<AccountOptions> options, TimeProvider clock)
{
    public const string RequiredSetting = "access.require-verified-email";

    /// <summary>A verification token for the user's current address and its mail, in the caller's transaction.</summary>
    public async Task SendAsync(AccessDbContext db, Guid userId, string email, CancellationToken ct)
    {
        var hours = Math.Max(1, options.Value.EmailVerificationHours);
        var token = await AccountTokens.IssueAsync(
            db, userId, AccountTokenPurposes.EmailVerification, email, clock.GetUtcNow(), TimeSpan.FromHours(hours), ct);
        await MailOutbox.EnqueueAsync(db, mails.EmailVerification(email, tenants.Required.Identifier, token, hours), ct);
    }

    /// <summary><c>POST /auth/verify-email</c> (anonymous: the token is the credential): 204, the user's address is verified.</summary>
    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> VerifyAsync(
        VerifyEmailRequest request, AccessDatabase database, TimeProvider clock, CancellationToken ct)
    {
        if (!AccountTokens.IsPlausible(request.Token))
        {
            return string.IsNullOrWhiteSpace(request.Token) ? Problems.Validation("token", "token is required.") : AccountTokens.InvalidToken();
        }

        await using (var read = await database.BeginAsync(ct))
        {
            if (await AccountTokens.FindLiveAsync(read.Db, request.Token!, AccountTokenPurposes.EmailVerification, clock.GetUtcNow(), ct)
                is not { } live)
            {
                return AccountTokens.InvalidToken();
            }

            await read.CommitAsync(ct);
            Actor.ActAs(live.UserId, live.Email);
        }

        await using var unit = await database.BeginAsync(ct);
        var spent = await AccountTokens.SpendAsync(unit.Db, request.Token!, AccountTokenPurposes.EmailVerification, clock.GetUtcNow(), ct);
        if (spent is not { } proof)
        {
            return AccountTokens.InvalidToken();
        }

        // Only the address the mail went to: an address changed since then stays unverified.
        // SQL for lower() = lower(), the database's case rules (as the unique index), not the host's.
        await unit.Db.Database.ExecuteSqlAsync(
            $"UPDATE users SET email_verified = true, version = version + 1, updated_at = now() WHERE id = {proof.UserId} AND lower(email) = lower({proof.Email}) AND NOT email_verified",
            ct);

        await unit.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    /// <summary><c>POST /me/verify-email</c>: a new verification mail to the caller's own address (202), or 409 when it is verified already.</summary>
    public static async Task<Results<Accepted, ProblemHttpResult>> ResendAsync(
        HttpContext http, AccessDatabase database, EmailVerifications verifications, CancellationToken ct)
    {
        await using var unit = await database.BeginAsync(ct);
        var me = await Actor.LoadAsync(unit.Db, http.User, ct);
        if (me is null)
        {
            return UsersEndpoints.ActorGone();
        }

        if (me.EmailVerified)
        {
            return Problems.Conflict("email-verified", "Your e-mail address is verified already.");
        }

        await verifications.SendAsync(unit.Db, me.Id, me.Email, ct);
        await unit.CommitAsync(ct);
        return TypedResults.Accepted((string?)null);
    }
}
