namespace Monolith.Tenancy.Catalog;

/// <summary>A change to a tenant's catalog entry: a null name keeps the name; each setting is kept, set, or returned to its default.</summary>
internal sealed record TenantChanges(
    string? Name,
    SettingChange AuditRetentionDays,
    SettingChange LogRetentionDays,
    SettingChange StatementTimeoutMs,
    SettingChange MaxConcurrency);

/// <summary>One per-tenant setting in a change: <see cref="Given"/> false keeps it; given with no value returns it to the configured default.</summary>
internal readonly record struct SettingChange(bool Given, int? Value)
{
    public static readonly SettingChange Unchanged = new(false, null);

    public static readonly SettingChange ToDefault = new(true, null);

    public static SettingChange To(int value) => new(true, value);
}
