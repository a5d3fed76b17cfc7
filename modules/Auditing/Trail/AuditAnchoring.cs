using System.ComponentModel;
using Hangfire;
using Monolith.Tenancy;

namespace Monolith.Auditing.Trail;

/// <summary>
/// Anchors every live tenant's chain head outside its schema (<c>platform.audit_anchors</c>, through
/// <c>monolith.audit_anchor_all()</c>, platform script 0010). An anchor moves only forward and only while the trail
/// still holds the anchored record with the anchored hash, so a trail whose newest records were cut (or rewritten)
/// keeps the anchor that proves it. Runs as the owner role: a recurring Hangfire job every
/// <see cref="AuditingOptions.AnchorSeconds"/> / 2, and on demand (tests, operators).
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
        await using var command = database.DataSource.CreateCommand("SELECT monolith.audit_anchor_all()");
        return (int)(await command.ExecuteScalarAsync(ct))!;
    }
}
