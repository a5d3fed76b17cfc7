namespace Monolith.Tenancy.Provisioning;

/// <summary>
/// Creates a new tenant's first owner account. Implemented by the Access module; runs inside the new
/// tenant's context after its schema is migrated. A failure fails the provisioning, which leaves nothing behind.
/// </summary>
public interface ITenantOwnerSetup
{
    /// <summary>Field errors (key: request field name) for the owner part of a create request; empty when valid.</summary>
    IDictionary<string, string[]> Validate(string? email, string? password);

    /// <summary>Creates the owner; returns the password when it was generated (shown once), else null.</summary>
    Task<string?> CreateOwnerAsync(string email, string? password, CancellationToken ct);
}
