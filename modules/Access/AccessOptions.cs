namespace Monolith.Access;

/// <summary>The <c>Auth</c> configuration section: token signing, lifetimes, password and login limits.</summary>
public sealed class AccessOptions
{
    public const string Section = "Auth";
    public const int MinimumSigningKeyBytes = 32;
    public const int MaximumClockSkewSeconds = 30;

    /// <summary>HS256 key, at least 32 bytes of UTF-8. A secret: from the environment (<c>Auth__SigningKey</c>).</summary>
    public string? SigningKey { get; set; }

    public string Issuer { get; set; } = "monolith";

    public string Audience { get; set; } = "monolith-api";

    public int AccessTokenMinutes { get; set; } = 15;

    public int RefreshTokenDays { get; set; } = 14;

    /// <summary>Clamped to 0..30 seconds.</summary>
    public int ClockSkewSeconds { get; set; } = 30;

    public RateLimitOptions RateLimits { get; set; } = new();
}

/// <summary><c>Auth:RateLimits</c>: every limit is configurable so tests (and operators) can tune them (docs/adr/0013).</summary>
public sealed class RateLimitOptions
{
    /// <summary>
    /// Anonymous requests to a tenant (<c>/auth/*</c>, <c>/invitations/accept</c>) per tenant and client address within
    /// <see cref="LoginWindowSeconds"/>, per host instance.
    /// </summary>
    public int LoginPermitLimit { get; set; } = 20;

    public int LoginWindowSeconds { get; set; } = 60;

    /// <summary>Login attempts per e-mail address (known or not) within <see cref="AccountLockoutWindowSeconds"/> before it answers 429.</summary>
    public int AccountMaxFailures { get; set; } = 10;

    public int AccountLockoutWindowSeconds { get; set; } = 900;

    /// <summary>Signed-in requests per user within <see cref="UserWindowSeconds"/>, per host instance; 0 disables the limit.</summary>
    public int UserPermitLimit { get; set; } = 1200;

    public int UserWindowSeconds { get; set; } = 60;

    /// <summary>
    /// Signed-in requests of all the users of a tenant within <see cref="TenantWindowSeconds"/>, per host instance;
    /// anonymous requests never count against it. 0 disables the limit.
    /// </summary>
    public int TenantPermitLimit { get; set; } = 6000;

    public int TenantWindowSeconds { get; set; } = 60;
}

/// <summary>The <c>Access</c> configuration section: how long the links of the account mails live.</summary>
public sealed class AccountOptions
{
    public const string Section = "Access";

    public int InvitationHours { get; set; } = 72;

    public int PasswordResetMinutes { get; set; } = 60;

    /// <summary>At most one reset mail per user within this many seconds: a flood of requests for one address sends one mail.</summary>
    public int PasswordResetIntervalSeconds { get; set; } = 60;

    public int EmailVerificationHours { get; set; } = 48;
}
