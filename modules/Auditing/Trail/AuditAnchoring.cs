using System.ComponentModel;
using Hangfire;
using Microsoft.Extensions.Options;
using Monolith.Tenancy;
using Monolith.Tenancy.Placement;
using Npgsql;

namespace Monolith.Auditing.Trail;

/// <summary>
/// Anchors every live tenant's chain head outside its schema (<c>platform.audit_anchors</c>). An anchor moves only
/// forward and only while the trail still holds the anchored record with the anchored hash, so a trail whose newest
/// records were cut (or rewritten) keeps the anchor that proves it. Runs as the owner role: a recurring Hangfire job every
/// <see cref="AuditingOptions.AnchorSeconds"/> / 2 (one instance at a time), and on demand (tests, operators).
/// <para>
/// A pass visits the tenants in slices of <see cref="AuditingOptions.AnchorBatchSize"/> (<c>monolith.audit_anchor_batch</c>,
/// platform scripts 0070 and 0084), each its own short statement, so no transaction spans every tenant. A completed pass is
/// recorded in <c>platform.audit_anchor_runs</c> with the start of its first slice (which <see cref="AnchoringLagGauge"/>
/// reads); a pass that dies midway records nothing, and the next pass starts over (anchoring twice is harmless).
/// </para>
/// </summary>
internal sealed class AuditAnchoring(TenantServers servers, IOptions<AuditingOptions> options)
{
    public const string RecurringId = "audit-anchor";

    /// <summary>Returns how many tenants' anchors moved, on every server of the placement map (docs/adr/0066).</summary>
    [DisplayName("Audit trail: anchor every tenant's chain head")]
    [DisableConcurrentExecution(timeoutInSeconds: 30)]
    [AutomaticRetry(Attempts = 0)]
    public async Task<int> AnchorAllAsync(CancellationToken ct)
    {
        DateTimeOffset? startedAt = null;
        var moved = 0;
        foreach (var (name, server) in await servers.AllAsync(ct))
        {
            var (started, movedThere) = await AnchorOnAsync(name, server, ct);
            startedAt ??= started;
            moved += movedThere;
        }

        // Recorded on the catalog's server with the start of the first slice of the first server: the whole pass covers
        // every record committed before it.
        await using var record = servers.CatalogServer.DataSource.CreateCommand(
            """
            INSERT INTO platform.audit_anchor_runs AS r (started_at, finished_at, moved) VALUES ($1, clock_timestamp(), $2)
            ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at, finished_at = excluded.finished_at, moved = excluded.moved
                WHERE r.started_at < excluded.started_at
            """);
        record.Parameters.AddWithValue(startedAt!.Value);
        record.Parameters.AddWithValue(moved);
        await record.ExecuteNonQueryAsync(ct);
        return moved;
    }

    /// <summary>
    /// The live tenants whose schema <paramref name="name"/> holds, slice by slice: on the catalog's server those placed
    /// there, not the old copy of a tenant that moved away (platform script 0084).
    /// </summary>
    private async Task<(DateTimeOffset StartedAt, int Moved)> AnchorOnAsync(string name, PlatformDatabase server, CancellationToken ct)
    {
        var batch = Math.Max(1, options.Value.AnchorBatchSize);
        await using var connection = await server.OpenConnectionAsync(ct);
        DateTimeOffset? startedAt = null;
        Guid? after = null;
        var moved = 0;
        while (true)
        {
            // Each slice one statement: now() is its start, so the first one's covers every record committed before the pass.
            await using var command = new NpgsqlCommand(
                "SELECT now(), b.visited, b.moved, b.last_id FROM monolith.audit_anchor_batch($1, $2, $3) b", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)after ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
            command.Parameters.AddWithValue(batch);
            command.Parameters.AddWithValue(name);
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            startedAt ??= reader.GetFieldValue<DateTimeOffset>(0);
            var visited = reader.GetInt32(1);
            moved += reader.GetInt32(2);
            after = reader.IsDBNull(3) ? after : reader.GetGuid(3);
            if (visited < batch)
            {
                return (startedAt.Value, moved);
            }
        }
    }
}
