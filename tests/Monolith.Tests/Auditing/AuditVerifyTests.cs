using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Auditing.Trail;
using Monolith.SharedKernel.Context;
using Monolith.Tests.Support;

namespace Monolith.Tests.Auditing;

/// <summary>
/// GET /audit-events/verify finds a trail changed behind the API's back: a record edited, removed, inserted or moved, and
/// the newest records cut off after the chain's head was anchored outside the tenant's schema.
/// </summary>
[Trait("Category", Categories.Security)]
public sealed class AuditVerifyTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task An_untouched_trail_verifies_and_says_how_much_it_checked_and_how_long_it_took()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "ok", 4);

        var verdict = await VerifyAsync();
        Assert.True(verdict.GetProperty("valid").GetBoolean());
        Assert.Equal((await Fixture.AuditRowsAsync(alpha)).Count, verdict.GetProperty("checked").GetInt64());
        Assert.Equal(JsonValueKind.Null, verdict.GetProperty("firstBrokenId").ValueKind);
        Assert.Equal(JsonValueKind.Null, verdict.GetProperty("problem").ValueKind);
        Assert.Equal(64, verdict.GetProperty("headHash").GetString()!.Length);
        Assert.True(verdict.GetProperty("elapsedMs").GetDouble() >= 0);
        Assert.Equal((await Fixture.AuditRowsAsync(alpha))[^1].Seq, verdict.GetProperty("anchoredPosition").GetInt64());
    }

    [Fact]
    public async Task A_trail_longer_than_one_batch_is_checked_batch_by_batch()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "batch", 9);
        var rows = await Fixture.AuditRowsAsync(alpha);

        var whole = await Fixture.VerifyAsync(alpha, batchSize: 4);
        Assert.True(whole.Valid, whole.Problem);
        Assert.Equal(rows.Count, whole.Checked);

        await Fixture.SuperuserSqlAsync($"UPDATE \"{alpha.SchemaName}\".audit_events SET entity_id = 'edited' WHERE id = $1", rows[6].Id);
        var broken = await Fixture.VerifyAsync(alpha, batchSize: 4);
        Assert.False(broken.Valid);
        Assert.Equal(rows[6].Id, broken.FirstBrokenId);
        Assert.Equal(7, broken.Checked);
    }

    [Fact]
    public async Task An_edited_record_is_the_first_broken_link()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "edit", 4);
        var rows = await Fixture.AuditRowsAsync(alpha);
        var victim = rows[^3];

        await Fixture.SuperuserSqlAsync(
            $"UPDATE \"{alpha.SchemaName}\".audit_events SET changes = jsonb_set(changes, '{{@new,value}}', '999') WHERE id = $1", victim.Id);

        await AssertBrokenAtAsync(victim.Id);
    }

    [Fact]
    public async Task An_edited_actor_is_detected_too()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "actor", 3);
        var victim = (await Fixture.AuditRowsAsync(alpha))[^2];

        await Fixture.SuperuserSqlAsync($"UPDATE \"{alpha.SchemaName}\".audit_events SET actor_email = 'someone-else' WHERE id = $1", victim.Id);

        await AssertBrokenAtAsync(victim.Id);
    }

    [Fact]
    public async Task A_record_removed_from_the_middle_breaks_the_link_of_the_record_after_it()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "delete", 4);
        var rows = await Fixture.AuditRowsAsync(alpha);

        await Fixture.SuperuserSqlAsync($"DELETE FROM \"{alpha.SchemaName}\".audit_events WHERE id = $1", rows[^3].Id);

        await AssertBrokenAtAsync(rows[^2].Id);
    }

    [Fact]
    public async Task Deleting_the_first_record_without_a_retention_anchor_is_detected()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "first", 3);
        var rows = await Fixture.AuditRowsAsync(alpha);

        await Fixture.SuperuserSqlAsync($"DELETE FROM \"{alpha.SchemaName}\".audit_events WHERE id = $1", rows[0].Id);

        await AssertBrokenAtAsync(rows[1].Id);
    }

    [Fact]
    public async Task The_two_newest_records_removed_after_an_anchor_are_detected_even_when_the_head_is_rewound()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "newest", 5);
        var rows = await Fixture.AuditRowsAsync(alpha);
        Assert.True((await Fixture.VerifyAsync(alpha)).Valid); // verify anchors the head: position of rows[^1]

        // Cut the two newest records and rewind the chain's head in the tenant's schema, so the rest looks whole.
        var (kept, cut) = (rows[^3], rows[^1]);
        await Fixture.SuperuserSqlAsync($"DELETE FROM \"{alpha.SchemaName}\".audit_events WHERE seq > $1", kept.Seq);
        await Fixture.SuperuserSqlAsync(
            $"""
             UPDATE "{alpha.SchemaName}".audit_chain_head h SET seq = e.seq, hash = e.hash, prev_hash = e.prev_hash
             FROM "{alpha.SchemaName}".audit_events e WHERE e.seq = $1
             """, kept.Seq);

        var verdict = await Fixture.VerifyAsync(alpha);
        Assert.False(verdict.Valid);
        Assert.Null(verdict.FirstBrokenId); // nothing is left to name: the records are gone
        Assert.Equal(cut.Seq, verdict.AnchoredPosition);
        Assert.Contains("before its anchor", verdict.Problem, StringComparison.Ordinal);
        Assert.False((await Fixture.VerifyAsync(alpha)).Valid); // verify does not move the anchor back: it stays detected
    }

    [Fact]
    public async Task The_newest_records_removed_before_any_anchor_are_detected_by_the_chains_head()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "unanchored", 4);
        var rows = await Fixture.AuditRowsAsync(alpha);

        await Fixture.SuperuserSqlAsync($"DELETE FROM \"{alpha.SchemaName}\".audit_events WHERE seq >= $1", rows[^2].Seq);

        var verdict = await Fixture.VerifyAsync(alpha); // anchors first: the chain's head still says where the trail ended
        Assert.False(verdict.Valid);
        Assert.Contains($"the trail ends at position {rows[^3].Seq}", verdict.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_record_appended_behind_the_apis_back_is_detected()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "insert", 3);
        var admin = await Fixture.ClientAsAsync(MonolithFixture.Alpha, Roles.Admin); // a write: before the forgery blocks the chain
        var forged = Guid.CreateVersion7();

        // A plausible record linked to the current head, with a hash made the trail's way, but not by the trail.
        await Fixture.SuperuserSqlAsync(
            $$"""
            INSERT INTO "{{alpha.SchemaName}}".audit_events (seq, id, occurred_at, action, entity_type, entity_id, actor_kind, changes, prev_hash, hash)
            SELECT a.seq + 1, $1, now(), 'delete', 'tenant_setting', 'insert-0', 'user', '{}', a.hash,
                   sha256(a.hash || monolith.audit_content($1, now(), 'delete', 'tenant_setting', 'insert-0', 'user', NULL, NULL, NULL, '{}'))
            FROM "{{alpha.SchemaName}}".audit_events a ORDER BY a.seq DESC LIMIT 1
            """, forged);

        await AssertBrokenAtAsync(forged, admin);
    }

    [Fact]
    public async Task A_record_inserted_into_the_middle_is_detected()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "middle", 4);
        var admin = await Fixture.ClientAsAsync(MonolithFixture.Alpha, Roles.Admin); // a write: before the forgery blocks the chain
        var rows = await Fixture.AuditRowsAsync(alpha);
        var forged = Guid.CreateVersion7();

        // Make room after rows[1] and plant a record there, linked to rows[1] and hashed the trail's way.
        await Fixture.SuperuserSqlAsync($"UPDATE \"{alpha.SchemaName}\".audit_events SET seq = seq + 1000 WHERE seq > $1", rows[1].Seq);
        await Fixture.SuperuserSqlAsync($"UPDATE \"{alpha.SchemaName}\".audit_events SET seq = seq - 999 WHERE seq > $1 + 1000", rows[1].Seq);
        await Fixture.SuperuserSqlAsync(
            $$"""
            INSERT INTO "{{alpha.SchemaName}}".audit_events (seq, id, occurred_at, action, entity_type, entity_id, actor_kind, changes, prev_hash, hash)
            SELECT a.seq + 1, $2, a.occurred_at, 'create', 'tenant_setting', 'planted', 'user', '{}', a.hash,
                   sha256(a.hash || monolith.audit_content($2, a.occurred_at, 'create', 'tenant_setting', 'planted', 'user', NULL, NULL, NULL, '{}'))
            FROM "{{alpha.SchemaName}}".audit_events a WHERE a.seq = $1
            """, rows[1].Seq, forged);

        await AssertBrokenAtAsync(rows[2].Id, admin); // the record after the planted one no longer links
    }

    [Fact]
    public async Task A_record_moved_to_another_position_is_detected()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "moved", 5);
        var rows = await Fixture.AuditRowsAsync(alpha);

        // Swap the positions of two records.
        var table = $"\"{alpha.SchemaName}\".audit_events";
        await Fixture.SuperuserSqlAsync($"UPDATE {table} SET seq = -1 WHERE seq = $1", rows[1].Seq);
        await Fixture.SuperuserSqlAsync($"UPDATE {table} SET seq = $1 WHERE seq = $2", rows[1].Seq, rows[3].Seq);
        await Fixture.SuperuserSqlAsync($"UPDATE {table} SET seq = $1 WHERE seq = -1", rows[3].Seq);

        await AssertBrokenAtAsync(rows[3].Id); // now at rows[1]'s position, it does not link to rows[0]
    }

    [Fact]
    public async Task A_record_the_chain_never_sealed_is_detected()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "unsealed", 2);
        var rows = await Fixture.AuditRowsAsync(alpha);

        await Fixture.SuperuserSqlAsync($"UPDATE \"{alpha.SchemaName}\".audit_events SET hash = sha256('\\x00'::bytea) WHERE id = $1", rows[^1].Id);

        await AssertBrokenAtAsync(rows[^1].Id);
    }

    private async Task<JsonElement> VerifyAsync(HttpClient? admin = null)
    {
        var client = admin ?? await Fixture.ClientAsAsync(MonolithFixture.Alpha, Roles.Admin);
        return await client.GetFromJsonAsync<JsonElement>("/audit-events/verify");
    }

    private async Task AssertBrokenAtAsync(Guid id, HttpClient? admin = null)
    {
        var verdict = await VerifyAsync(admin);
        Assert.False(verdict.GetProperty("valid").GetBoolean());
        Assert.Equal(id, verdict.GetProperty("firstBrokenId").GetGuid());
        Assert.False(string.IsNullOrEmpty(verdict.GetProperty("problem").GetString()));
    }
}
