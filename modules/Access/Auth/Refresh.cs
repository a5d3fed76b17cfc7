using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.Access.Tokens;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;

namespace Monolith.Access.Auth;

internal sealed record RefreshRequest(string? RefreshToken);

/// <summary>Category of the auth endpoints' log events.</summary>
internal sealed class AuthLog;

/// <summary><c>POST /auth/refresh</c>: spends the refresh token for a new pair in the same session; a spent one ends the session.</summary>
internal static partial class Refresh
{
    public static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        RefreshRequest request,
        AccessDatabase database,
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
            result = await RefreshTokens.RotateAsync(unit.Db, request.RefreshToken, options.Value.RefreshTokenDays, ct);
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
