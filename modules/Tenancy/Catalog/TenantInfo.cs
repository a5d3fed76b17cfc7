using Monolith.Tenancy.Placement;

namespace Monolith.Tenancy.Catalog;

public static class TenantStatus
{
    public const string Provisioning = "provisioning";
    public const string Active = "active";
    public const string Suspended = "suspended";
    /// <summary>Deleted but kept (data, schema, role) until its purge; answers 404 like an unknown tenant; undelete brings it back.</summary>
    public const string Deleted = "deleted";

    /// <summary>Being purged: its schema and role are going; the row goes last.</summary>
    public const string Deleting = "deleting";

    public static readonly IReadOnlyList<string> All = [Provisioning, Active, Suspended, Deleted, Deleting];
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
    int? MaxConcurrency = null,
    DateTimeOffset? DeletedAt = null,
    DateTimeOffset? PurgeAfter = null,
    string Server = TenantServers.Catalog,
    string? MovingTo = null);
