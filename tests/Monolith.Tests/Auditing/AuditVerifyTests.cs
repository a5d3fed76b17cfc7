using System.Net.Http.Json;
using System.Text.Json;
using Monolith.SharedKernel.Context;
using Monolith.Tests.Support;

namespace Monolith.Tests.Auditing;

/// <summary>GET /audit-events/verify finds the first broken link after the trail is changed behind the API's back.</summary>
[Trait("Category", Categories.Security)]
public sealed class AuditVerifyTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task An_untouched_trail_verifies()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "ok", 4);

        var verdict = await VerifyAsync();
        Assert.True(verdict.GetProperty("valid").GetBoolean());
        Assert.Equal((await Fixture.AuditRowsAsync(alpha)).Count, verdict.GetProperty("checked").GetInt64());
        Assert.False(verdict.TryGetProperty("firstBrokenId", out var broken) && broken.ValueKind != JsonValueKind.Null);
        Assert.Equal(64, verdict.GetProperty("headHash").GetString()!.Length);
    }

    [Fact]
    public async Task An_edited_record_is_the_first_broken_link()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "edit", 4);
        var rows = await Fixture.AuditRowsAsync(alpha);
        var victim = rows[^3];

        await Fixture.SuperuserSqlAsync(
            $"UPDATE \"{alpha.SchemaName}\".audit_events SET changes = jsonb_set(changes, '{{value,new}}', '999') WHERE id = $1", victim.Id);

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
    public async Task A_deleted_record_breaks_the_link_of_the_record_after_it()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "delete", 4);
        var rows = await Fixture.AuditRowsAsync(alpha);

        await Fixture.SuperuserSqlAsync($"DELETE FROM \"{alpha.SchemaName}\".audit_events WHERE id = $1", rows[^3].Id);

        await AssertBrokenAtAsync(rows[^2].Id);
    }

    [Fact]
    public async Task Deleting_the_first_record_without_an_anchor_is_detected()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "first", 3);
        var rows = await Fixture.AuditRowsAsync(alpha);

        await Fixture.SuperuserSqlAsync($"DELETE FROM \"{alpha.SchemaName}\".audit_events WHERE id = $1", rows[0].Id);

        await AssertBrokenAtAsync(rows[1].Id);
    }

    [Fact]
    public async Task An_inserted_record_is_detected()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "insert", 3);
        var forged = Guid.CreateVersion7();

        // A plausible record linked to the current head, but its hash was not made by the trail.
        await Fixture.SuperuserSqlAsync(
            $$"""
            INSERT INTO "{{alpha.SchemaName}}".audit_events (id, occurred_at, action, entity_type, entity_id, actor_kind, changes, prev_hash, hash)
            SELECT $1, now(), 'delete', 'tenant_setting', 'insert-0', 'user', '{}', a.hash, sha256(a.hash)
            FROM "{{alpha.SchemaName}}".audit_events a ORDER BY a.seq DESC LIMIT 1
            """, forged);
        await Fixture.WriteChangesAsync(alpha, "after", 1); // the trail goes on after the forgery

        await AssertBrokenAtAsync(forged);
    }

    [Fact]
    public async Task A_record_slipped_into_the_middle_is_detected()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "middle", 2);
        // Leave a gap in the sequence (a rolled-back transaction consumes a value), then write on.
        await Fixture.SuperuserSqlAsync($"SELECT nextval(pg_get_serial_sequence('\"{alpha.SchemaName}\".audit_events', 'seq'))");
        await Fixture.WriteChangesAsync(alpha, "middle-after", 2);
        var rows = await Fixture.AuditRowsAsync(alpha);
        var gapBefore = rows.Zip(rows.Skip(1)).First(p => p.Second.Seq - p.First.Seq > 1);
        var forged = Guid.CreateVersion7();

        await Fixture.SuperuserSqlAsync(
            $$"""
            INSERT INTO "{{alpha.SchemaName}}".audit_events
                (seq, id, occurred_at, action, entity_type, entity_id, actor_kind, changes, prev_hash, hash)
            OVERRIDING SYSTEM VALUE
            SELECT $1, $2, a.occurred_at, 'create', 'tenant_setting', 'planted', 'user', '{}', a.hash, a.hash
            FROM "{{alpha.SchemaName}}".audit_events a WHERE a.seq = $3
            """, gapBefore.First.Seq + 1, forged, gapBefore.First.Seq);

        await AssertBrokenAtAsync(forged);
    }

    private async Task<JsonElement> VerifyAsync()
    {
        var client = await Fixture.ClientAsAsync(MonolithFixture.Alpha, Roles.Admin);
        return await client.GetFromJsonAsync<JsonElement>("/audit-events/verify");
    }

    private async Task AssertBrokenAtAsync(Guid id)
    {
        var verdict = await VerifyAsync();
        Assert.False(verdict.GetProperty("valid").GetBoolean());
        Assert.Equal(id, verdict.GetProperty("firstBrokenId").GetGuid());
    }
}
