namespace Monolith.Auditing.Data;

/// <summary>
/// A record of <c>audit_events</c> as the trail's list reads it (tenant scripts 0002, 0010). Written only by
/// <c>monolith.audit_row_change</c>; the chain's hashes are verify's business and not mapped.
/// </summary>
internal sealed class AuditEvent
{
    /// <summary>The record's position in the chain: the list's order and its cursor.</summary>
    public long Seq { get; set; }

    public Guid Id { get; set; }

    public DateTimeOffset OccurredAt { get; set; }

    public required string Action { get; set; }

    public required string EntityType { get; set; }

    public required string EntityId { get; set; }

    public required string ActorKind { get; set; }

    public Guid? ActorId { get; set; }

    public string? ActorEmail { get; set; }

    public string? RequestId { get; set; }

    /// <summary>The stored form (jsonb); <see cref="AuditingDbContext.AuditChanges"/> turns it into <c>{column: {old, new}}</c>.</summary>
    public required string Changes { get; set; }
}
