using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.Access.Authorization;
using Monolith.Access.Sessions;
using Monolith.Access.Tokens;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;
using Monolith.Tenancy.Isolation;

namespace Monolith.Access.Auth;

public sealed record RefreshRequest(string? RefreshToken);

/// <summary>Category of the auth endpoints' log events.</summary>
internal sealed class AuthLog;

/// <summary><c>POST /auth/refresh</c>: spends the refresh token for a new pair in the same session; a spent one ends the session.</summary>
internal static partial class Refresh
{
    public static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        RefreshRequest request,
        TenantDatabase database,
        TenantContext tenants,
        AccessTokenIssuer issuer,
        CurrentUsers users,
        IOptions<AccessOptions> options,
        ILogger<AuthLog> logger,
        CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(request.RefreshToken) || request.RefreshToken.Length > 200)
        {
            return Problems.Validation("refreshToken", "refreshToken is required.");
        }

        RefreshResult result;
        await using (var unit = await database.BeginAsync(ct))
        {
            result = await RefreshTokens.RotateAsync(unit.Connection, unit.Transaction, request.RefreshToken, options.Value.RefreshTokenDays, ct);
            if (result.Outcome != RefreshOutcome.Invalid)
            {
                await unit.CommitAsync(ct);
            }
        }

        switch (result.Outcome)
        {
            case RefreshOutcome.Rotated:
                var access = issuer.Issue(result.UserId, result.Email!, result.Role!, tenants.Required, result.SessionId);
                return TypedResults.Ok(new TokenResponse(access.Token, result.Token!, "Bearer", access.ExpiresIn));
            case RefreshOutcome.Reused:
                users.Forget(tenants.Required.Id, result.UserId, result.SessionId);
                LogReuse(logger, result.UserId, result.SessionId);
                return InvalidRefreshToken();
            default:
                return InvalidRefreshToken();
        }
    }

    private static ProblemHttpResult InvalidRefreshToken() =>
        Problems.Unauthorized("invalid-refresh-token", "The refresh token is invalid, expired or revoked; sign in again.");

    [LoggerMessage(Level = LogLevel.Warning, Message = "A spent refresh token was presented again for user {TargetUserId}: ended its session {SessionId}")]
    private static partial void LogReuse(ILogger logger, Guid targetUserId, Guid sessionId);
}

/// <summary>
/// <c>POST /auth/logout</c>: ends the session of the refresh token: its refresh tokens and, on every instance within a
/// second, its access tokens. 204 whether or not it was live (no oracle).
/// </summary>
internal static class Logout
{
    public static async Task<Results<NoContent, ValidationProblem>> HandleAsync(
        RefreshRequest request, TenantDatabase database, TenantContext tenants, CurrentUsers users, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(request.RefreshToken) || request.RefreshToken.Length > 200)
        {
            return Problems.Validation("refreshToken", "refreshToken is required.");
        }

        await using var unit = await database.BeginAsync(ct);
        var ended = await SessionStore.EndByRefreshTokenAsync(unit.Connection, unit.Transaction, request.RefreshToken, SessionEndReasons.Logout, ct);
        await unit.CommitAsync(ct);
        if (ended is { } session)
        {
            users.Forget(tenants.Required.Id, session.UserId, session.SessionId);
        }

        return TypedResults.NoContent();
    }
}

public sealed record MeResponse(Guid Id, string Email, string Name, string Role, string Tenant);

/// <summary><c>GET /me</c>: the caller as the database knows them now.</summary>
internal static class Me
{
    public static async Task<Results<Ok<MeResponse>, ProblemHttpResult>> HandleAsync(HttpContext http, TenantDatabase database, TenantContext tenants, CancellationToken ct)
    {
        if (Actor.UserId(http.User) is not { } id)
        {
            return Problems.Unauthorized("unauthorized", "A valid bearer access token is required.");
        }

        await using var unit = await database.BeginAsync(ct);
        var user = await Users.UserStore.FindAsync(unit.Connection, id, ct, unit.Transaction);
        await unit.CommitAsync(ct);
        return user is { Status: Users.UserStatus.Active }
            ? TypedResults.Ok(new MeResponse(user.Id, user.Email, user.Name, user.Role, tenants.Required.Identifier))
            : Problems.Unauthorized("unauthorized", "The account of this token no longer exists or is disabled.");
    }
}
