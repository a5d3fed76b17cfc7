using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Auditing.Trail;

/// <summary>
/// The verdict on a tenant's trail. <c>checked</c> counts the records examined (up to and including the first
/// broken one); <c>headHash</c> is the hex hash of the newest record, which an operator can keep outside the
/// database to detect later truncation of the newest records (the one change a chain cannot see by itself).
/// </summary>
public sealed record AuditVerification(bool Valid, long Checked, Guid? FirstBrokenId, string? HeadHash);

/// <summary>
/// Walks the chain oldest first: each record's <c>prev_hash</c> must be the hash of the record before it (or,
/// for the first one, the hash retention recorded in the anchor when it removed older records), and its
/// <c>hash</c> must be sha256(prev_hash || content). An edited record fails the second test, a removed or an
/// inserted one the first (at the record after the gap) or the second.
/// </summary>
internal static class VerifyAuditTrail
{
    public static async Task<Ok<AuditVerification>> HandleAsync(TenantDatabase database, CancellationToken ct) =>
        TypedResults.Ok(await VerifyAsync(database, ct));

    public static async Task<AuditVerification> VerifyAsync(TenantDatabase database, CancellationToken ct)
    {
        // One snapshot for the anchor and the records, so a concurrent retention run cannot make a gap appear.
        await using var session = await database.BeginAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        var (connection, transaction) = (session.Connection, session.Transaction);

        byte[]? expected = null;
        await using (var anchor = new NpgsqlCommand("SELECT last_hash FROM audit_chain_anchor", connection, transaction))
        {
            expected = await anchor.ExecuteScalarAsync(ct) as byte[];
        }

        await using var command = new NpgsqlCommand(
            """
            SELECT a.id, a.prev_hash, a.hash, sha256(coalesce(a.prev_hash, ''::bytea) || audit_content(a))
            FROM audit_events a ORDER BY a.seq
            """, connection, transaction);
        await using var reader = await command.ExecuteReaderAsync(ct);
        long examined = 0;
        while (await reader.ReadAsync(ct))
        {
            examined++;
            var previous = reader.IsDBNull(1) ? null : reader.GetFieldValue<byte[]>(1);
            var hash = reader.GetFieldValue<byte[]>(2);
            var computed = reader.GetFieldValue<byte[]>(3);
            if (!Same(previous, expected) || !hash.AsSpan().SequenceEqual(computed))
            {
                return new AuditVerification(false, examined, reader.GetGuid(0), null);
            }

            expected = hash;
        }

        return new AuditVerification(true, examined, null, expected is null ? null : Convert.ToHexStringLower(expected));
    }

    private static bool Same(byte[]? a, byte[]? b) =>
        a is null || b is null ? a is null && b is null : a.AsSpan().SequenceEqual(b);
}
