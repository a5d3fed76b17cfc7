using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Monolith.Tenancy.Resolution;

namespace Monolith.Access.Tokens;

/// <summary>The claims of an access token.</summary>
public static class AccessClaims
{
    public const string Subject = "sub";
    public const string Tenant = ClaimStrategy.ClaimType;
    public const string Role = "role";
    public const string Email = "email";
    public const string TokenId = "jti";
}

internal sealed record IssuedAccessToken(string Token, int ExpiresIn);

/// <summary>Issues short-lived HS256 access tokens with sub, tenant, role, email and jti.</summary>
internal sealed class AccessTokenIssuer(SigningKeys keys, IOptions<AccessOptions> options, TimeProvider time)
{
    private readonly JsonWebTokenHandler handler = new();

    public IssuedAccessToken Issue(Guid userId, string email, string role, string tenant)
    {
        var o = options.Value;
        var now = time.GetUtcNow().UtcDateTime;
        var lifetime = TimeSpan.FromMinutes(Math.Max(1, o.AccessTokenMinutes));
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = o.Issuer,
            Audience = o.Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            SigningCredentials = keys.Credentials,
            Subject = new ClaimsIdentity(
            [
                new Claim(AccessClaims.Subject, userId.ToString()),
                new Claim(AccessClaims.Tenant, tenant),
                new Claim(AccessClaims.Role, role),
                new Claim(AccessClaims.Email, email),
                new Claim(AccessClaims.TokenId, Guid.CreateVersion7().ToString("N")),
            ]),
        };
        return new IssuedAccessToken(handler.CreateToken(descriptor), (int)lifetime.TotalSeconds);
    }
}
