using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.Access.Data;
using Monolith.Access.Passwords;
using Monolith.Access.RateLimiting;
using Monolith.Access.Sessions;
using Monolith.Access.Tokens;
using Monolith.Access.Users;
using Monolith.Access.Verification;
using Monolith.SharedKernel.Http;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Isolation;

namespace Monolith.Access.Auth;

internal sealed record TokenRequest(string? Email, string? Password);

internal sealed record TokenResponse(string AccessToken, string RefreshToken, string TokenType, int ExpiresIn);

/// <summary>
/// <c>POST /auth/token</c>: e-mail and password for a token pair and a new session. In three steps, so that no pooled
/// connection waits for the ~50–100 ms password hash: (1) take a login attempt of the address (<see cref="LoginAttempts"/>)
/// and read the user, commit, release the connection; (2) hash; (3) on success, write: last login, the rehash if
/// any, the address's attempts back, the session and its first refresh token, all on the condition that the user is
/// still active with the hash that was checked. Unknown e-mail, wrong password and a disabled account answer the
/// same 401 after the same work (a dummy hash for unknown users), and the same 429 once the address has no attempts left.
/// </summary>
internal static partial class Login
{
    public static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        TokenRequest request,
        HttpContext http,
        AccessDatabase database,
        TenantContext tenants,
        UserPasswords passwords,
        AccessTokenIssuer issuer,
        IOptions<AccessOptions> options,
        ILogger<AuthLog> logger,
        ITenantSettings settings,
        CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (string.IsNullOrWhiteSpace(request.Email))
        {
            errors.Add("email", "email is required.");
        }

        if (string.IsNullOrEmpty(request.Password))
        {
            errors.Add("password", "password is required.");
        }
        else if (request.Password.Length > UserPasswords.MaximumLength)
        {
            errors.Add("password", $"password must be at most {UserPasswords.MaximumLength} characters long.");
        }

        if (request.Email is { Length: > 254 })
        {
            errors.Add("email", "email must be at most 254 characters long.");
        }

        if (errors.Any)
        {
            return Problems.Validation(errors);
        }

        var o = options.Value;
        var email = request.Email!.Trim();
        var password = request.Password!;

        // (1) An attempt of the address, and the user; the connection goes back to the pool before the hash.
        LoginAttempt attempt;
        User? user = null;
        var verifiedEmailRequired = false;
        await using (var unit = await database.BeginAsync(ct))
        {
            attempt = await LoginAttempts.TakeAsync(unit.Db, email, o.RateLimits, ct);
            if (attempt.Allowed)
            {
                user = await unit.Db.Users.FindByEmailAsync(email, ct);
                verifiedEmailRequired = user is { EmailVerified: false }
                    && await settings.ReadAsync(unit.Connection, unit.Transaction, EmailVerifications.RequiredSetting, ct) == "true";
            }

            await unit.CommitAsync(ct);
        }

        if (!attempt.Allowed)
        {
            LogLocked(logger);
            return AccessRateLimits.TooManyRequests(http.Response, attempt.RetryAfterSeconds);
        }

        // (2) The hash, holding nothing.
        if (user is null)
        {
            await passwords.VerifyDummyAsync(password, ct);
            LogUnknown(logger);
            return InvalidCredentials();
        }

        var check = await passwords.VerifyAsync(user.PasswordHash, password, ct);
        if (check == PasswordCheck.Failed || user.Status != UserStatus.Active)
        {
            LogFailed(logger, user.Id);
            return InvalidCredentials();
        }

        // Told only to whoever knows the password: the refusal is no oracle of the address.
        if (verifiedEmailRequired)
        {
            LogUnverified(logger, user.Id);
            return Problems.Forbidden("email-unverified", "Your e-mail address is not verified yet; follow the link of the verification mail.");
        }

        var rehash = check == PasswordCheck.SuccessRehashNeeded ? await passwords.HashAsync(password, ct) : null;

        // (3) The writes, only if the user is still what was checked: active, with that hash.
        string currentEmail, role;
        Guid sessionId;
        string refresh;
        await using (var unit = await database.BeginAsync(ct))
        {
            // Bookkeeping only (last_login_at): unless a rehash sets password_hash, no audited column changes.
            // Kept as SQL: one conditional UPDATE … RETURNING, so the hash that was checked is the hash the login stands on.
            // Bookkeeping only (last_login_at): unless a rehash sets password_hash, no audited column is named.
            var checkedHash = user.PasswordHash;
            var signedIn = await (rehash is null
                ? unit.Db.Database.SqlQuery<SignedInUser>(
                    $"""
                     UPDATE users SET last_login_at = now()
                     WHERE id = {user.Id} AND password_hash = {checkedHash} AND status = 'active' RETURNING email AS "Email", role AS "Role"
                     """)
                : unit.Db.Database.SqlQuery<SignedInUser>(
                    $"""
                     UPDATE users SET last_login_at = now(), password_hash = {rehash}
                     WHERE id = {user.Id} AND password_hash = {checkedHash} AND status = 'active' RETURNING email AS "Email", role AS "Role"
                     """)).FirstOrNullAsync(ct);
            if (signedIn is null)
            {
                LogFailed(logger, user.Id);
                return InvalidCredentials(); // disabled, deleted or given another password meanwhile
            }

            (currentEmail, role) = (signedIn.Email, signedIn.Role);
            await LoginAttempts.ResetAsync(unit.Db, email, ct);
            (sessionId, refresh) = await unit.Db.StartSessionAsync(user.Id, o.RefreshTokenDays, ct);
            await unit.CommitAsync(ct);
        }

        var access = issuer.Issue(user.Id, currentEmail, role, tenants.Required, sessionId);
        return TypedResults.Ok(new TokenResponse(access.Token, refresh, "Bearer", access.ExpiresIn));
    }

    private sealed class SignedInUser
    {
        public required string Email { get; init; }

        public required string Role { get; init; }
    }

    public static ProblemHttpResult InvalidCredentials() =>
        Problems.Unauthorized("invalid-credentials", "The e-mail address or the password is wrong.");

    [LoggerMessage(Level = LogLevel.Information, Message = "Login failed for user {TargetUserId}: wrong password or disabled account")]
    private static partial void LogFailed(ILogger logger, Guid targetUserId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Login failed: no user has that e-mail address")]
    private static partial void LogUnknown(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Login refused for user {TargetUserId}: the tenant requires a verified e-mail address")]
    private static partial void LogUnverified(ILogger logger, Guid targetUserId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Login refused: too many failed attempts for that e-mail address")]
    private static partial void LogLocked(ILogger logger);
}
