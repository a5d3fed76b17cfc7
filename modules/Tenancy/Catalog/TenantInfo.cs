namespace Monolith.Tenancy.Catalog;

public static class TenantStatus
{
    public const string Provisioning = "provisioning";
    public const string Active = "active";
    public const string Suspended = "suspended";
    public const string Deleting = "deleting";

    public static readonly IReadOnlyList<string> All = [Provisioning, Active, Suspended, Deleting];
}

/// <summary>A row of the tenant catalog (<c>platform.tenants</c>).</summary>
public sealed record TenantInfo(
    Guid Id,
    string Identifier,
    string Name,
    string SchemaName,
    string RoleName,
    string Status,
    string? SchemaVersion,
    int? AuditRetentionDays,
    int? LogRetentionDays,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    int? StatementTimeoutMs = null,
    int? MaxConcurrency = null);
