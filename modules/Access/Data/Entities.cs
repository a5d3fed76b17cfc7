namespace Monolith.Access.Data;

/// <summary>A row of <c>users</c>. <see cref="Version"/> is the table's own counter (not xmin): the ETag, bumped by every change through the API.</summary>
internal sealed class User
{
    public Guid Id { get; set; }

    public required string Email { get; set; }

    public required string Name { get; set; }

    public required string Role { get; set; }

    public required string PasswordHash { get; set; }

    public required string Status { get; set; }

    public int FailedLoginCount { get; set; }

    public DateTimeOffset? FailedLoginSince { get; set; }

    public DateTimeOffset? LastLoginAt { get; set; }

    public int Version { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public bool EmailVerified { get; set; }

    public string ETag => $"\"{Version}\"";

    public Users.UserResponse ToResponse() => new(Id, Email, Name, Role, Status, EmailVerified, CreatedAt, UpdatedAt, LastLoginAt);
}

/// <summary>A row of <c>sessions</c>: one login (docs/adr/0013). Its refresh tokens are the family whose id is the session's.</summary>
internal sealed class Session
{
    public Guid Id { get; set; }

    public Guid UserId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset LastUsedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    public string? EndReason { get; set; }
}

/// <summary>A row of <c>refresh_tokens</c>: sha256 of the token only.</summary>
internal sealed class RefreshToken
{
    public Guid Id { get; set; }

    public Guid UserId { get; set; }

    public Guid FamilyId { get; set; }

    public required byte[] TokenHash { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset? SpentAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>A row of <c>account_tokens</c>: a single-use token sent by mail (sha256 only).</summary>
internal sealed class AccountToken
{
    public Guid Id { get; set; }

    public Guid UserId { get; set; }

    public required string Purpose { get; set; }

    public required byte[] TokenHash { get; set; }

    public required string Email { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset? UsedAt { get; set; }
}

/// <summary>A row of <c>invitations</c> (sha256 of the token only).</summary>
internal sealed class Invitation
{
    public Guid Id { get; set; }

    public required string Email { get; set; }

    public string? Name { get; set; }

    public required string Role { get; set; }

    public required string Status { get; set; }

    public required byte[] TokenHash { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public Guid? InvitedById { get; set; }

    public required string InvitedBy { get; set; }

    public Guid? AcceptedUserId { get; set; }

    public int SentCount { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A row of <c>mail_outbox</c>. The bodies hold single-use tokens until the mail is sent or given up.</summary>
internal sealed class OutboxEntry
{
    public Guid Id { get; set; }

    public required string Kind { get; set; }

    public required string Recipient { get; set; }

    public required string Subject { get; set; }

    public string? TextBody { get; set; }

    public string? HtmlBody { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public int Attempts { get; set; }

    public DateTimeOffset NextAttemptAt { get; set; }

    public DateTimeOffset? LockedUntil { get; set; }

    public DateTimeOffset? SentAt { get; set; }

    public DateTimeOffset? FailedAt { get; set; }

    public string? LastError { get; set; }
}

/// <summary>A row of <c>login_failures</c>: the failed logins of one address (sha256 of its lower case) in the current window.</summary>
internal sealed class LoginFailure
{
    public required byte[] AddressHash { get; set; }

    public int Failures { get; set; }

    public DateTimeOffset WindowStart { get; set; }
}
