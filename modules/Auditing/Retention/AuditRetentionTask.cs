using Microsoft.Extensions.Options;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Placement;
using Npgsql;

namespace Monolith.Auditing.Retention;

/// <summary>
/// Removes a tenant's audit records older than its policy, oldest first, in batches, as the owner role (the
/// tenant role may not delete audit records). Only a prefix of the chain is ever removed: it stops at the first
/// record that is not expired, so a record younger than the cutoff is never removed even if the clock once went
/// backwards, and the anchor (the hash of the last record removed) keeps the rest verifiable. Each batch commits
/// with its anchor, so a run that dies midway leaves a consistent trail and the next run simply continues.
/// </summary>
internal sealed class AuditRetentionTask(TenantServers servers, IOptions<TenancyOptions> tenancy, IOptions<RetentionOptions> options)
    : IRetentionTask
{
    public const string TaskName = "audit";

    public string Name => TaskName;

    public Task<RetentionOutcome?> RunGlobalAsync(DateTimeOffset now, IReadOnlyList<TenantInfo> tenants, bool dryRun, CancellationToken ct) =>
        Task.FromResult<RetentionOutcome?>(null);

    public async Task<RetentionOutcome> RunForTenantAsync(TenantInfo tenant, DateTimeOffset now, bool dryRun, CancellationToken ct)
    {
        var days = tenant.AuditRetentionDays ?? tenancy.Value.DefaultAuditRetentionDays;
        var cutoff = now.ToUniversalTime().AddDays(-days);
        var schema = Quote(tenant.SchemaName);
        var database = await servers.ForAsync(tenant, ct);

        if (dryRun)
        {
            await using var count = database.DataSource.CreateCommand(
                $"""
                SELECT count(*) FROM {schema}.audit_events
                WHERE seq < coalesce((SELECT min(seq) FROM {schema}.audit_events WHERE occurred_at >= $1), 9223372036854775807)
                """);
            count.Parameters.AddWithValue(cutoff);
            return new RetentionOutcome(Name, tenant.Identifier, (long)(await count.ExecuteScalarAsync(ct))!, cutoff);
        }

        long removed = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            await using var batch = database.DataSource.CreateCommand(
                $"""
                WITH head AS (
                    SELECT seq, hash, occurred_at < $1 AS expired FROM {schema}.audit_events ORDER BY seq LIMIT $2
                ), doomed AS (
                    SELECT seq FROM head WHERE seq < coalesce((SELECT min(seq) FROM head WHERE NOT expired), 9223372036854775807)
                ), gone AS (
                    DELETE FROM {schema}.audit_events a USING doomed d WHERE a.seq = d.seq RETURNING a.seq, a.hash
                ), anchored AS (
                    INSERT INTO {schema}.audit_chain_anchor AS c (id, last_seq, last_hash, removed, updated_at)
                    SELECT true, g.seq, g.hash, (SELECT count(*) FROM gone), now() FROM gone g ORDER BY g.seq DESC LIMIT 1
                    ON CONFLICT (id) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash,
                        removed = c.removed + excluded.removed, updated_at = excluded.updated_at
                )
                SELECT count(*) FROM gone
                """);
            batch.Parameters.AddWithValue(cutoff);
            batch.Parameters.AddWithValue(Math.Max(1, options.Value.AuditBatchSize));
            var count = (long)(await batch.ExecuteScalarAsync(ct))!;
            removed += count;
            if (count == 0)
            {
                return new RetentionOutcome(Name, tenant.Identifier, removed, cutoff);
            }
        }
    }

    /// <summary>Schema names come from the catalog (validated when the tenant was made); quoted all the same.</summary>
    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
