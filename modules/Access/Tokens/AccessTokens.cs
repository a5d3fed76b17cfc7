using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Resolution;

namespace Monolith.Access.Tokens;

/// <summary>The claims of an access token.</summary>
internal static class AccessClaims
{
    public const string Subject = "sub";
    public const string Tenant = ClaimStrategy.ClaimType;
    public const string TenantId = ClaimStrategy.TenantIdClaimType;
    public const string Session = "sid";
    public const string Role = "role";
    public const string Email = "email";
    public const string TokenId = "jti";
}

internal sealed record IssuedAccessToken(string Token, int ExpiresIn);

/// <summary>
/// Issues short-lived HS256 access tokens with sub, tenant (identifier), tid (tenant id), sid (session), role, email
/// and jti. Role and email are for the client to read; authorization uses the user's current state (docs/adr/0013).
/// </summary>
internal sealed class AccessTokenIssuer(SigningKeys keys, IOptions<AccessOptions> options, TimeProvider time)
{
    private readonly JsonWebTokenHandler handler = new();

    public IssuedAccessToken Issue(Guid userId, string email, string role, TenantInfo tenant, Guid sessionId)
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
                new Claim(AccessClaims.Tenant, tenant.Identifier),
                new Claim(AccessClaims.TenantId, tenant.Id.ToString()),
                new Claim(AccessClaims.Session, sessionId.ToString()),
                new Claim(AccessClaims.Role, role),
                new Claim(AccessClaims.Email, email),
                new Claim(AccessClaims.TokenId, Guid.CreateVersion7().ToString("N")),
            ]),
        };
        return new IssuedAccessToken(handler.CreateToken(descriptor), (int)lifetime.TotalSeconds);
    }
}
