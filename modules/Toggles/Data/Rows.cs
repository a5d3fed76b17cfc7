namespace Monolith.Toggles.Data;

/// <summary>A row of <c>feature_toggles</c> (tenant script 0006): a tenant-level definition.</summary>
internal sealed class FeatureToggle
{
    public required string Key { get; set; }

    public required string Description { get; set; }

    public bool Enabled { get; set; }

    public short? RolloutPercent { get; set; }

    /// <summary>Starts at 1 (the script's default) and grows by one per change: with <see cref="CreatedAt"/>, the ETag.</summary>
    public int Revision { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public Guid? CreatedById { get; set; }

    public string? CreatedBy { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public Guid? UpdatedById { get; set; }

    public string? UpdatedBy { get; set; }
}

/// <summary>A row of <c>feature_overrides</c>: a project's own value of a defined toggle. Its generated <c>id</c> is the audit trail's, not mapped.</summary>
internal sealed class FeatureOverride
{
    public Guid ProjectId { get; set; }

    public required string Key { get; set; }

    public bool Enabled { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public Guid? CreatedById { get; set; }

    public string? CreatedBy { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public Guid? UpdatedById { get; set; }

    public string? UpdatedBy { get; set; }
}

/// <summary>What the override upsert answers: the row, and whether it was inserted (PostgreSQL's <c>xmax = 0</c>).</summary>
internal sealed class OverrideWritten
{
    public Guid ProjectId { get; set; }

    public required string Key { get; set; }

    public bool Enabled { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public Guid? CreatedById { get; set; }

    public string? CreatedBy { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public Guid? UpdatedById { get; set; }

    public string? UpdatedBy { get; set; }

    public bool Inserted { get; set; }
}

/// <summary>A row of <c>feature_schedules</c>: at <see cref="At"/> the toggle's <c>enabled</c> becomes <see cref="Enabled"/>.</summary>
internal sealed class FeatureSchedule
{
    public Guid Id { get; set; }

    public required string Key { get; set; }

    public DateTimeOffset At { get; set; }

    public bool Enabled { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public Guid? CreatedById { get; set; }

    public string? CreatedBy { get; set; }
}

/// <summary>A row of <c>feature_toggle_usage</c>: when the toggle was last evaluated (telemetry for the stale report).</summary>
internal sealed class FeatureToggleUsage
{
    public required string Key { get; set; }

    public DateTimeOffset LastEvaluatedAt { get; set; }
}

/// <summary>The one row of <c>feature_toggle_state</c>: the tenant's toggle state version the caches compare.</summary>
internal sealed class FeatureToggleState
{
    public short Id { get; set; }

    public long Version { get; set; }
}

/// <summary>A definition with its last evaluation, as the definitions list reads it (a keyset page in SQL).</summary>
internal sealed class DefinitionRow
{
    public required string Key { get; set; }

    public required string Description { get; set; }

    public bool Enabled { get; set; }

    public short? RolloutPercent { get; set; }

    public int Revision { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public Guid? CreatedById { get; set; }

    public string? CreatedBy { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public Guid? UpdatedById { get; set; }

    public string? UpdatedBy { get; set; }

    public DateTimeOffset? LastEvaluatedAt { get; set; }
}
