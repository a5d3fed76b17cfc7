namespace Monolith.Auditing.Retention;

/// <summary>
/// <c>Retention</c> settings. The days themselves are per tenant (<c>auditRetentionDays</c>,
/// <c>logRetentionDays</c>) with their defaults in <c>Tenancy</c>.
/// </summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>When the daily job runs (cron, UTC). Default: 03:00 every day.</summary>
    public string Schedule { get; set; } = "0 3 * * *";

    /// <summary>Audit records removed per transaction: small enough that writers are never held up.</summary>
    public int AuditBatchSize { get; set; } = 5000;

    /// <summary>Tenants one batch of the daily pass works on (one Hangfire job, on one instance); the next batch is another job.</summary>
    public int TenantsPerBatch { get; set; } = 100;

    /// <summary>Runs a failing tenant gets within one daily pass before the pass gives it up (and ends as failed).</summary>
    public int AttemptsPerPass { get; set; } = 3;
}
