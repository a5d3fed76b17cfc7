using System.Data;
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Auditing.Trail;

/// <summary>
/// The verdict on a tenant's trail. <c>checked</c> counts the records examined (up to and including the first broken
/// one); <c>firstBrokenId</c> is that record (null when the trail is cut at its end: no record is left to name);
/// <c>problem</c> says what does not hold; <c>headHash</c> is the hex hash of the newest record; <c>anchoredPosition</c>
/// the chain position anchored outside the tenant's schema; <c>elapsedMs</c> how long the check took.
/// </summary>
internal sealed record AuditVerification(
    bool Valid,
    long Checked,
    Guid? FirstBrokenId,
    string? HeadHash,
    string? Problem,
    long? AnchoredPosition,
    double ElapsedMs);

/// <summary>
/// <c>GET /audit-events/verify</c>. First anchors the caller's chain head outside its schema
/// (<c>monolith.audit_anchor()</c>, in a transaction of its own), then walks the trail oldest first in one snapshot,
/// <see cref="AuditingOptions.VerifyBatchSize"/> records per statement, with the checking done by the database: each
/// record's <c>hash</c> must be sha256(prev_hash || content) and its <c>prev_hash</c> the hash of the record before it
/// (for the first one, the hash retention recorded when it removed older records). The trail must end at the chain's
/// head, and hold the anchored record with the anchored hash. The host keeps a few rows per statement: memory stays flat
/// however long the trail is.
/// </summary>
internal static class VerifyAuditTrail
{
    public static async Task<Ok<AuditVerification>> HandleAsync(TenantDatabase database, IOptions<AuditingOptions> options, CancellationToken ct) =>
        TypedResults.Ok(await VerifyAsync(database, options.Value.VerifyBatchSize, ct));

    public static Task<AuditVerification> VerifyAsync(TenantDatabase database, CancellationToken ct) =>
        VerifyAsync(database, new AuditingOptions().VerifyBatchSize, ct);

    public static async Task<AuditVerification> VerifyAsync(TenantDatabase database, int batchSize, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();

        // 1. Anchor what is there now, in a transaction of its own: the anchor outlives this check.
        long anchoredSeq;
        byte[]? anchoredHash;
        await using (var anchoring = await database.BeginAsync(ct))
        {
            await using (var anchor = anchoring.Command("SELECT anchored_seq, anchored_hash FROM monolith.audit_anchor()"))
            await using (var reader = await anchor.ExecuteReaderAsync(ct))
            {
                await reader.ReadAsync(ct);
                anchoredSeq = reader.GetInt64(0);
                anchoredHash = reader.IsDBNull(1) ? null : reader.GetFieldValue<byte[]>(1);
            }

            await anchoring.CommitAsync(ct);
        }

        // 2. Walk the trail in one snapshot (a concurrent retention run cannot make a gap appear).
        await using var session = await database.BeginAsync(IsolationLevel.RepeatableRead, ct);
        var (connection, transaction) = (session.Connection, session.Transaction);

        long removedSeq = 0;
        byte[]? removedHash = null;
        await using (var removed = new NpgsqlCommand("SELECT last_seq, last_hash FROM audit_chain_anchor", connection, transaction))
        await using (var reader = await removed.ExecuteReaderAsync(ct))
        {
            if (await reader.ReadAsync(ct))
            {
                removedSeq = reader.GetInt64(0);
                removedHash = reader.GetFieldValue<byte[]>(1);
            }
        }

        long headSeq;
        byte[]? headHash;
        await using (var head = new NpgsqlCommand("SELECT seq, hash FROM audit_chain_head", connection, transaction))
        await using (var reader = await head.ExecuteReaderAsync(ct))
        {
            if (!await reader.ReadAsync(ct))
            {
                return Broken(0, null, "the chain's head is missing", anchoredSeq, clock);
            }

            headSeq = reader.GetInt64(0);
            headHash = reader.IsDBNull(1) ? null : reader.GetFieldValue<byte[]>(1);
        }

        await using var batch = new NpgsqlCommand(Batch, connection, transaction);
        var after = new NpgsqlParameter<long>();
        batch.Parameters.Add(after);
        var previous = batch.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea });
        batch.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(1, batchSize) });
        batch.Parameters.Add(new NpgsqlParameter<long> { TypedValue = anchoredSeq });
        batch.Parameters.Add(new NpgsqlParameter { Value = (object?)anchoredHash ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea });
        batch.Parameters.Add(new NpgsqlParameter<long> { TypedValue = headSeq });

        // The position and hash of the newest record seen so far (before the first: what retention removed last).
        long examined = 0;
        var lastSeq = removedSeq;
        var lastHash = removedHash;
        var anchorSeen = false;
        while (true)
        {
            after.TypedValue = lastSeq;
            previous.Value = (object?)lastHash ?? DBNull.Value;
            long rows = 0;
            await using (var reader = await batch.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    // Only the broken rows, the anchored one and the batch's last come back.
                    var seq = reader.GetInt64(0);
                    if (!reader.IsDBNull(4))
                    {
                        return Broken(examined + reader.GetInt64(3), reader.GetGuid(1), reader.GetString(4), anchoredSeq, clock);
                    }

                    anchorSeen |= seq == anchoredSeq;
                    rows = reader.GetInt64(5);
                    lastSeq = seq;
                    lastHash = reader.GetFieldValue<byte[]>(2);
                }
            }

            examined += rows;
            if (rows < batchSize)
            {
                break;
            }
        }

        // The end: nothing cut after the anchor, the anchored record as anchored, the newest record the chain's head.
        if (lastSeq < anchoredSeq)
        {
            return Broken(examined, null,
                $"the trail ends at position {lastSeq}, before its anchor at position {anchoredSeq}: its newest records were removed", anchoredSeq, clock);
        }

        if (anchoredSeq > removedSeq && !anchorSeen)
        {
            return Broken(examined, null, $"the anchored record at position {anchoredSeq} is missing", anchoredSeq, clock);
        }

        if (anchoredSeq == removedSeq && anchoredSeq > 0 && !Same(removedHash, anchoredHash))
        {
            return Broken(examined, null, "the records retention removed disagree with the anchor", anchoredSeq, clock);
        }

        if (lastSeq != headSeq || !Same(lastHash, headHash))
        {
            return Broken(examined, null, $"the trail ends at position {lastSeq}, not at the chain's head (position {headSeq})", anchoredSeq, clock);
        }

        return new AuditVerification(true, examined, null, lastHash is null ? null : Convert.ToHexStringLower(lastHash), null, anchoredSeq,
            clock.Elapsed.TotalMilliseconds);
    }

    /// <summary>
    /// One batch of the walk: records after position $1 (the first must link to $2), at most $3. A row comes back when
    /// something about it does not hold (<c>problem</c>), when it is the anchored record ($4, which must have hash $5),
    /// or when it is the batch's last (to carry on from). Records past the head ($6) were not written by the trail.
    /// </summary>
    private const string Batch =
        """
        SELECT seq, id, hash, ordinal, problem, rows FROM (
            SELECT b.seq, b.id, b.hash, row_number() OVER w AS ordinal, count(*) OVER () AS rows,
                   CASE WHEN b.seq > $6 THEN 'a record after the chain''s head was not written by the trail'
                        WHEN b.prev_hash IS DISTINCT FROM coalesce(lag(b.hash) OVER w, $2) THEN 'the record does not link to the record before it (a record was removed, inserted or moved)'
                        WHEN b.hash IS DISTINCT FROM sha256(coalesce(b.prev_hash, '\x'::bytea) || monolith.audit_content(
                                 b.id, b.occurred_at, b.action, b.entity_type, b.entity_id, b.actor_kind, b.actor_id, b.actor_email, b.request_id, b.changes))
                            THEN 'the record''s content does not match its hash (it was edited, or not written by the trail)'
                        WHEN b.seq = $4 AND b.hash IS DISTINCT FROM $5 THEN 'the record disagrees with the anchor'
                   END AS problem
            FROM (SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $3) b
            WINDOW w AS (ORDER BY b.seq)
        ) checked
        WHERE problem IS NOT NULL OR seq = $4 OR ordinal = rows
        ORDER BY seq
        """;

    private static AuditVerification Broken(long examined, Guid? id, string problem, long anchored, Stopwatch clock) =>
        new(false, examined, id, null, problem, anchored, clock.Elapsed.TotalMilliseconds);

    private static bool Same(byte[]? a, byte[]? b) =>
        a is null || b is null ? a is null && b is null : a.AsSpan().SequenceEqual(b);
}
