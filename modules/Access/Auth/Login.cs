using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.Access.Passwords;
using Monolith.Access.RateLimiting;
using Monolith.Access.Tokens;
using Monolith.Access.Users;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Access.Auth;

public sealed record TokenRequest(string? Email, string? Password);

public sealed record TokenResponse(string AccessToken, string RefreshToken, string TokenType, int ExpiresIn);

/// <summary>
/// <c>POST /auth/token</c>: e-mail and password for a token pair. Unknown e-mail, wrong password and a disabled
/// account answer the same 401 after the same work (a dummy hash for unknown users). Failures are counted on
/// the user row; past the limit within the window the account answers 429 until the window ends.
/// </summary>
internal static partial class Login
{
    public static async Task<IResult> HandleAsync(
        TokenRequest request,
        TenantDatabase database,
        TenantContext tenants,
        Passwords.Passwords passwords,
        AccessTokenIssuer issuer,
        IOptions<AccessOptions> options,
        ILogger<AuthLog> logger,
        CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Email))
        {
            errors["email"] = ["email is required."];
        }

        if (string.IsNullOrEmpty(request.Password))
        {
            errors["password"] = ["password is required."];
        }
        else if (request.Password.Length > Passwords.Passwords.MaximumLength)
        {
            errors["password"] = [$"password must be at most {Passwords.Passwords.MaximumLength} characters long."];
        }

        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        var o = options.Value;
        var limits = o.RateLimits;
        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        var user = await UserStore.FindByEmailAsync(connection, request.Email!.Trim(), ct);
        if (user is null)
        {
            passwords.VerifyDummy(request.Password!);
            return InvalidCredentials();
        }

        var retryAfter = await LockedForAsync(connection, user.Id, limits, ct);
        if (retryAfter > 0)
        {
            LogLocked(logger, user.Id);
            return new TooManyRequests(retryAfter);
        }

        var check = passwords.Verify(user.PasswordHash, request.Password!);
        if (check == PasswordCheck.Failed)
        {
            await CountFailureAsync(connection, user.Id, limits, ct);
            await session.CommitAsync(ct);
            LogFailed(logger, user.Id);
            return InvalidCredentials();
        }

        if (user.Status != UserStatus.Active)
        {
            return InvalidCredentials();
        }

        var transaction = session.Transaction;
        // Bookkeeping only: this statement names no audited column, so the audit trigger does not fire.
        await using (var succeed = new NpgsqlCommand(
            "UPDATE users SET failed_login_count = 0, failed_login_since = NULL, last_login_at = now() WHERE id = $1", connection, transaction))
        {
            succeed.Parameters.AddWithValue(user.Id);
            await succeed.ExecuteNonQueryAsync(ct);
        }

        if (check == PasswordCheck.SuccessRehashNeeded)
        {
            await using var rehash = new NpgsqlCommand("UPDATE users SET password_hash = $2 WHERE id = $1", connection, transaction);
            rehash.Parameters.AddWithValue(user.Id);
            rehash.Parameters.AddWithValue(passwords.Hash(request.Password!));
            await rehash.ExecuteNonQueryAsync(ct);
        }

        var refresh = await RefreshTokens.IssueAsync(connection, transaction, user.Id, Guid.CreateVersion7(), o.RefreshTokenDays, ct);
        await session.CommitAsync(ct);
        var access = issuer.Issue(user.Id, user.Email, user.Role, tenants.Required.Identifier);
        return TypedResults.Ok(new TokenResponse(access.Token, refresh, "Bearer", access.ExpiresIn));
    }

    public static ProblemHttpResult InvalidCredentials() =>
        Problems.Unauthorized("invalid-credentials", "The e-mail address or the password is wrong.");

    /// <summary>Seconds until the account may try again; 0 when it is not locked.</summary>
    private static async Task<int> LockedForAsync(NpgsqlConnection connection, Guid userId, RateLimitOptions limits, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT CASE WHEN failed_login_count >= $2 AND failed_login_since > now() - make_interval(secs => $3)
                        THEN greatest(1, ceil(extract(epoch FROM failed_login_since + make_interval(secs => $3) - now())))::int
                        ELSE 0 END
            FROM users WHERE id = $1
            """, connection);
        command.Parameters.AddWithValue(userId);
        command.Parameters.AddWithValue(Math.Max(1, limits.AccountMaxFailures));
        command.Parameters.AddWithValue((double)Math.Max(1, limits.AccountLockoutWindowSeconds));
        return await command.ExecuteScalarAsync(ct) is int seconds ? seconds : 0;
    }

    /// <summary>One atomic statement, so concurrent failures on several instances all count.</summary>
    private static async Task CountFailureAsync(NpgsqlConnection connection, Guid userId, RateLimitOptions limits, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            """
            UPDATE users SET
                failed_login_count = CASE WHEN failed_login_since IS NULL OR failed_login_since <= now() - make_interval(secs => $2)
                                          THEN 1 ELSE failed_login_count + 1 END,
                failed_login_since = CASE WHEN failed_login_since IS NULL OR failed_login_since <= now() - make_interval(secs => $2)
                                          THEN now() ELSE failed_login_since END
            WHERE id = $1
            """, connection);
        command.Parameters.AddWithValue(userId);
        command.Parameters.AddWithValue((double)Math.Max(1, limits.AccountLockoutWindowSeconds));
        await command.ExecuteNonQueryAsync(ct);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Login failed for user {TargetUserId}: wrong password")]
    private static partial void LogFailed(ILogger logger, Guid targetUserId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Login refused for user {TargetUserId}: too many failed attempts")]
    private static partial void LogLocked(ILogger logger, Guid targetUserId);
}
