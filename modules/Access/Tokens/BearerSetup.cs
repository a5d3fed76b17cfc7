using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Monolith.SharedKernel.Http;

namespace Monolith.Access.Tokens;

/// <summary>
/// Bearer validation with everything pinned: HS256 only, our issuer and audience, signed tokens with an
/// expiry, a clock skew of at most 30 seconds. Failures answer one problem body that says nothing about why.
/// </summary>
internal sealed class BearerSetup(SigningKeys keys, IOptions<AccessOptions> access) : IConfigureNamedOptions<JwtBearerOptions>
{
    public void Configure(string? name, JwtBearerOptions options)
    {
        if (name != JwtBearerDefaults.AuthenticationScheme)
        {
            return;
        }

        var o = access.Value;
        options.MapInboundClaims = false;
        options.RequireHttpsMetadata = false; // no authority: keys are local, nothing is fetched
        options.IncludeErrorDetails = false;
        options.TokenValidationParameters = new TokenValidationParameters
        {
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            IssuerSigningKey = keys.Key,
            ValidateIssuerSigningKey = true,
            RequireSignedTokens = true,
            ValidIssuer = o.Issuer,
            ValidateIssuer = true,
            ValidAudience = o.Audience,
            ValidateAudience = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = TimeSpan.FromSeconds(Math.Clamp(o.ClockSkewSeconds, 0, AccessOptions.MaximumClockSkewSeconds)),
            NameClaimType = AccessClaims.Subject,
            RoleClaimType = AccessClaims.Role,
        };
        options.Events = new JwtBearerEvents
        {
            OnChallenge = async context =>
            {
                context.HandleResponse();
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await Problems.WriteAsync(context.HttpContext, StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized.",
                    "A valid bearer access token is required.");
            },
            OnForbidden = context => Problems.WriteAsync(context.HttpContext, StatusCodes.Status403Forbidden, "forbidden", "Forbidden.",
                "Your role does not allow this operation."),
        };
    }

    public void Configure(JwtBearerOptions options) => Configure(Options.DefaultName, options);
}
