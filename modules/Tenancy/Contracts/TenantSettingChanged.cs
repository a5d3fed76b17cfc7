using Monolith.Tenancy.Catalog;

namespace Monolith.Tenancy.Contracts;

/// <summary>
/// A tenant setting was written (<c>PUT /settings/{key}</c>, a restore's record of its origin). Published through
/// <c>InProcessEvents</c> inside the writing transaction, after the write: what a subscriber does on that transaction
/// commits or rolls back with the setting. Modules that derive state from a setting follow it here, never by triggers on
/// Tenancy's table.
/// </summary>
public sealed record TenantSettingChanged(TenantInfo Tenant, string Key);
