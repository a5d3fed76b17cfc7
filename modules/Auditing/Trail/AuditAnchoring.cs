using System.ComponentModel;
using Hangfire;
using Monolith.Tenancy;

namespace Monolith.Auditing.Trail;

/// <summary>
/// Anchors every live tenant's chain head outside its schema (<c>platform.audit_anchors</c>, through
/// <c>monolith.audit_anchor_all()</c>, platform script 0010). An anchor moves only forward and only while the trail
/// still holds the anchored record with the anchored hash, so a trail whose newest records were cut (or rewritten)
/// keeps the anchor that proves it. Runs as the owner role: a recurring Hangfire job every
/// <see cref="AuditingOptions.AnchorSeconds"/> / 2, and on demand (tests, operators). Each pass is recorded in
/// <c>platform.audit_anchor_runs</c>, which <see cref="AnchoringLagGauge"/> reads.
/// </summary>
internal sealed class AuditAnchoring(PlatformDatabase database)
{
    public const string RecurringId = "audit-anchor";

    /// <summary>Returns how many tenants' anchors moved.</summary>
    [DisplayName("Audit trail: anchor every tenant's chain head")]
    [DisableConcurrentExecution(timeoutInSeconds: 30)]
    [AutomaticRetry(Attempts = 0)]
    public async Task<int> AnchorAllAsync(CancellationToken ct)
    {
        // One statement: now() is its start, so the recorded pass covers every record committed before it began.
        await using var command = database.DataSource.CreateCommand(
            """
            WITH pass AS (SELECT monolith.audit_anchor_all() AS moved),
                 recorded AS (
                     INSERT INTO platform.audit_anchor_runs AS r (started_at, finished_at, moved)
                     SELECT now(), clock_timestamp(), pass.moved FROM pass
                     ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at, finished_at = excluded.finished_at, moved = excluded.moved
                         WHERE r.started_at < excluded.started_at)
            SELECT moved FROM pass
            """);
        return (int)(await command.ExecuteScalarAsync(ct))!;
    }
}
