using Npgsql;

namespace Monolith.Tenancy.Contracts;

/// <summary>
/// A tenant's settings (<c>PUT /settings/{key}</c>) for other modules, read on the caller's own tenant connection and
/// transaction, so that a setting and the module's own tables come from one snapshot.
/// </summary>
public interface ITenantSettings
{
    /// <summary>The setting's JSON value as text (<c>true</c>, <c>"text"</c>, ...), or null when the tenant has not set it.</summary>
    Task<string?> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string key, CancellationToken ct);
}
