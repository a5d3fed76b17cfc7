namespace Monolith.Auditing.Trail;

/// <summary><c>Auditing</c> settings: how the audit trail's head is anchored and how verify reads the trail.</summary>
public sealed class AuditingOptions
{
    public const string Section = "Auditing";

    /// <summary>
    /// At the latest this many seconds after a record is sealed, its tenant's chain head is anchored in
    /// <c>platform.audit_anchors</c> (outside the tenant's schema). The anchoring job runs every half of it (at least
    /// every second); every verify anchors too.
    /// </summary>
    public int AnchorSeconds { get; set; } = 60;

    /// <summary>Tenants the anchoring job visits per statement (one short transaction each), so a pass over 10,000 tenants holds no long transaction.</summary>
    public int AnchorBatchSize { get; set; } = 500;

    /// <summary>Records verify checks per statement (one snapshot for all of them): memory stays flat in the trail's length.</summary>
    public int VerifyBatchSize { get; set; } = 10_000;

    /// <summary>Hangfire's six-part cron (with seconds) for the anchoring job: every AnchorSeconds / 2, within a minute.</summary>
    internal string AnchorCron
    {
        get
        {
            var every = Math.Clamp(AnchorSeconds / 2, 1, 3600);
            return every switch
            {
                < 60 => $"*/{every} * * * * *",
                < 3600 => $"0 */{every / 60} * * * *",
                _ => "0 0 * * * *",
            };
        }
    }
}
