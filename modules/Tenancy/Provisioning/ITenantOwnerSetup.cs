namespace Monolith.Tenancy.Provisioning;

/// <summary>
/// Creates a new tenant's first owner account. Implemented by the Access module. <see cref="PrepareAsync"/> does the slow
/// part (the password's KDF) before the provisioning takes the tenant's lock; <see cref="CreateOwnerAsync"/> runs inside
/// the new tenant's context after its schema is filled. A failure fails the provisioning, which leaves nothing behind.
/// </summary>
public interface ITenantOwnerSetup
{
    /// <summary>Field errors (key: request field name) for the owner part of a create request; empty when valid.</summary>
    IDictionary<string, string[]> Validate(string? email, string? password);

    /// <summary>Hashes the given password, or generates one (returned once, in <see cref="TenantOwner.GeneratedPassword"/>).</summary>
    Task<TenantOwner> PrepareAsync(string email, string? password, CancellationToken ct);

    Task CreateOwnerAsync(TenantOwner owner, CancellationToken ct);
}

/// <summary>An owner ready to be written. Not a record: its printed form would show the hash and the generated password.</summary>
public sealed class TenantOwner(string email, string passwordHash, string? generatedPassword)
{
    public string Email { get; } = email;

    public string PasswordHash { get; } = passwordHash;

    /// <summary>The password when it was generated (shown to the operator once), else null.</summary>
    public string? GeneratedPassword { get; } = generatedPassword;

    public override string ToString() => $"owner {Email}";
}
