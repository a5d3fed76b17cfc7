using System.Data;
using System.Net;
using System.Net.Http.Json;
using Monolith.Auditing.Trail;
using Monolith.Migrations;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Auditing;

/// <summary>
/// The chain sealed at commit (docs/adr/0032): concurrent writers of one tenant, the head anchored outside the tenant's
/// schema, and tenants moved from their own copies of the trail's functions to the shared ones.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class AuditChainTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task Eight_concurrent_writers_of_one_tenant_are_each_recorded_once_in_a_gap_free_chain_that_verifies()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        var owner = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        await owner.AuthorizeAsOwnerAsync(Fixture, MonolithFixture.Alpha);
        const int Writers = 8;
        const int Changes = 50;

        await Parallel.ForEachAsync(Enumerable.Range(0, Writers), new ParallelOptions { MaxDegreeOfParallelism = Writers }, async (writer, ct) =>
        {
            for (var change = 0; change < Changes; change++)
            {
                using var put = new HttpRequestMessage(HttpMethod.Put, $"/settings/w{writer}-{change}") { Content = JsonContent.Create(new { value = change }) };
                put.Headers.Add("X-Request-Id", $"writer-{writer}-{change}");
                using var response = await owner.SendAsync(put, ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        });

        var rows = await Fixture.AuditRowsAsync(alpha);
        var written = rows.Where(r => r.RequestId?.StartsWith("writer-", StringComparison.Ordinal) == true).ToList();
        Assert.Equal(Writers * Changes, written.Count);
        Assert.Equal(Writers * Changes, written.Select(r => r.RequestId).Distinct().Count()); // each change once
        Assert.All(written, r =>
        {
            Assert.Equal("create", r.Action);
            Assert.Equal("tenant_setting", r.EntityType);
            Assert.Equal("w" + r.RequestId!["writer-".Length..], r.EntityId);
            Assert.Equal(ActorKinds.User, r.ActorKind);
            Assert.Equal(MonolithFixture.OwnerEmail(MonolithFixture.Alpha), r.ActorEmail);
            Assert.NotNull(r.ActorId);
        });
        Assert.Equal(Enumerable.Range(1, rows.Count).Select(i => (long)i), rows.Select(r => r.Seq)); // positions 1..n, no gap
        var verdict = await Fixture.VerifyAsync(alpha);
        Assert.True(verdict.Valid, verdict.Problem);
        Assert.Equal(rows.Count, verdict.Checked);
    }

    [Fact]
    public async Task A_repeatable_read_writer_that_raced_another_fails_instead_of_forking_the_chain()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        using var scope = Fixture.Service<TenantContext>().Enter(alpha);
        using var operation = OperationContext.Begin(AuditTestData.Cli("rr-writer"));
        await using var session = await Fixture.Service<TenantDatabase>().BeginAsync(IsolationLevel.RepeatableRead);
        await using (var snapshot = session.Command("SELECT count(*) FROM tenant_settings"))
        {
            await snapshot.ExecuteScalarAsync(); // the transaction's snapshot is taken by now
        }

        await Fixture.WriteChangesAsync(alpha, "committed-meanwhile", 1); // moves the chain's head after that snapshot

        await using (var insert = session.Command("INSERT INTO tenant_settings (key, value) VALUES ('raced', '1')"))
        {
            await insert.ExecuteNonQueryAsync();
        }

        var error = await Assert.ThrowsAsync<PostgresException>(() => session.CommitAsync(CancellationToken.None));
        Assert.Equal(PostgresErrorCodes.SerializationFailure, error.SqlState);
        Assert.DoesNotContain(await Fixture.AuditRowsAsync(alpha), r => r.EntityId == "raced");
        Assert.True((await Fixture.VerifyAsync(alpha)).Valid);
    }

    [Fact]
    public async Task The_tenant_role_can_read_its_trail_but_cannot_write_a_record_in_any_way()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "readable", 1);
        using var scope = Fixture.Service<TenantContext>().Enter(alpha);
        var database = Fixture.Service<TenantDatabase>();
        await using (var session = await database.BeginAsync())
        await using (var read = session.Command("SELECT count(*) FROM audit_events WHERE entity_id = 'readable-0'"))
        {
            Assert.Equal(1L, await read.ExecuteScalarAsync());
        }

        foreach (var sql in new[]
                 {
                     """
                     INSERT INTO audit_events (seq, id, occurred_at, action, entity_type, entity_id, actor_kind, changes, hash)
                     VALUES (1000000, gen_random_uuid(), now(), 'create', 'x', 'x', 'user', '{}', '\x00')
                     """,
                     "UPDATE audit_events SET entity_id = 'x'",
                     "DELETE FROM audit_events",
                     "TRUNCATE audit_events",
                     "UPDATE audit_chain_head SET seq = 0",
                     "UPDATE audit_chain_anchor SET last_seq = 0",
                     "SELECT monolith.audit_record(current_schema(), 'INSERT', '{tenant_setting,key}', NULL, '{\"key\": \"forged\"}')",
                     "SELECT monolith.audit_anchor_schema(gen_random_uuid(), current_schema())",
                     "SELECT count(*) FROM platform.audit_anchors",
                     "CREATE TEMP TABLE forge (key text); CREATE TRIGGER audit AFTER INSERT ON forge FOR EACH ROW EXECUTE FUNCTION monolith.audit_row_change('tenant_setting', 'key')",
                 })
        {
            await using var session = await database.BeginAsync(); // each in a transaction of its own: a failure ends it
            await using var command = session.Command(sql);
            var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
            Assert.True(error.SqlState == PostgresErrorCodes.InsufficientPrivilege, $"{sql}: {error.SqlState} {error.MessageText}");
        }

        Assert.True((await Fixture.VerifyAsync(alpha)).Valid);
    }

    [Fact]
    public async Task The_anchoring_job_anchors_every_tenants_head_and_never_moves_an_anchor_over_a_cut_trail()
    {
        var (alpha, beta) = (await Fixture.TenantAsync(MonolithFixture.Alpha), await Fixture.TenantAsync(MonolithFixture.Beta));
        await Fixture.WriteChangesAsync(alpha, "anchored", 3);
        await Fixture.WriteChangesAsync(beta, "anchored", 2);

        await Fixture.Service<AuditAnchoring>().AnchorAllAsync(CancellationToken.None);

        Assert.Equal((await Fixture.AuditRowsAsync(alpha))[^1].Seq, await AnchoredSeqAsync(alpha));
        Assert.Equal((await Fixture.AuditRowsAsync(beta))[^1].Seq, await AnchoredSeqAsync(beta));

        // Cut alpha's newest record and rewind its head, then write on: the anchor stays where the cut record was.
        var rows = await Fixture.AuditRowsAsync(alpha);
        await Fixture.SuperuserSqlAsync($"DELETE FROM \"{alpha.SchemaName}\".audit_events WHERE seq = $1", rows[^1].Seq);
        await Fixture.SuperuserSqlAsync(
            $"""
             UPDATE "{alpha.SchemaName}".audit_chain_head h SET seq = e.seq, hash = e.hash, prev_hash = e.prev_hash
             FROM "{alpha.SchemaName}".audit_events e WHERE e.seq = $1 - 1
             """, rows[^1].Seq);
        await Fixture.WriteChangesAsync(alpha, "after-cut", 1);
        await Fixture.Service<AuditAnchoring>().AnchorAllAsync(CancellationToken.None);

        Assert.Equal(rows[^1].Seq, await AnchoredSeqAsync(alpha));
        var verdict = await Fixture.VerifyAsync(alpha);
        Assert.False(verdict.Valid);
        Assert.Contains("disagrees with the anchor", verdict.Problem, StringComparison.Ordinal);
        Assert.True((await Fixture.VerifyAsync(beta)).Valid);
    }

    [Fact]
    public async Task An_existing_tenant_moves_to_the_shared_functions_with_its_chain_intact()
    {
        // A tenant as every script but 0010 made it: its own copies of the functions, its records chained by them.
        // Made the way provisioning makes one: by the owner role, the request role a member of the tenant's role.
        var id = Guid.CreateVersion7();
        var identifier = MonolithFixture.UniqueIdentifier("old");
        var (schema, role) = (TenantIdentifier.SchemaNameOf(identifier), TenantIdentifier.RoleNameOf(id));
        await using (var owner = new NpgsqlConnection(Fixture.Connections.Owner))
        {
            await owner.OpenAsync();
            await using var create = new NpgsqlCommand(
                $"""
                 CREATE ROLE "{role}" NOLOGIN NOINHERIT; GRANT "{role}" TO CURRENT_USER; GRANT "{role}" TO {TestDatabase.AppRole};
                 CREATE SCHEMA "{schema}"; REVOKE ALL ON SCHEMA "{schema}" FROM PUBLIC; GRANT USAGE ON SCHEMA "{schema}" TO "{role}";
                 """, owner);
            await create.ExecuteNonQueryAsync();
        }

        await Fixture.SuperuserSqlAsync(
            "INSERT INTO platform.tenants (id, identifier, name, schema_name, role_name, status) VALUES ($1, $2, 'Old', $3, $4, 'active')",
            id, identifier, schema, role);
        var before = new MigrationScripts(MigrationScripts.Tenant.Scripts.Where(s => !s.Name.StartsWith("0010_", StringComparison.Ordinal)));
        Assert.True(DbUpRunner.MigrateTenant(Fixture.Connections.Owner, schema, role, before).Succeeded);
        const string Write =
            """
            SET ROLE "{0}"; SET search_path TO "{1}";
            INSERT INTO tenant_settings (key, value) VALUES ('{2}-a', '1'), ('{2}-b', '2');
            UPDATE tenant_settings SET value = '3' WHERE key = '{2}-a';
            RESET ROLE;
            """;
        await Fixture.SuperuserSqlAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, Write, role, schema, "old"));
        Assert.Equal(3L, await Fixture.SuperuserScalarAsync<long>($"SELECT count(*) FROM \"{schema}\".audit_events"));

        Assert.True(DbUpRunner.MigrateTenant(Fixture.Connections.Owner, schema, role, MigrationScripts.Tenant).Succeeded);
        await Fixture.SuperuserSqlAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, Write, role, schema, "new"));

        Assert.Equal(0L, await Fixture.SuperuserScalarAsync<long>("SELECT count(*) FROM pg_proc WHERE pronamespace = $1::regnamespace", schema));
        Assert.Equal(0L, await Fixture.SuperuserScalarAsync<long>(
            """
            SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE c.relnamespace = $1::regnamespace AND NOT t.tgisinternal AND p.pronamespace <> 'monolith'::regnamespace
            """, schema));
        Assert.Equal(0L, await Fixture.SuperuserScalarAsync<long>(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = $1::regnamespace AND t.tgname = 'audit' AND NOT t.tgdeferrable",
            schema));
        var tenant = await Fixture.TenantAsync(identifier);
        var rows = await Fixture.AuditRowsAsync(tenant);
        Assert.Equal(6, rows.Count);
        Assert.Equal("3", System.Text.Json.JsonDocument.Parse(rows[2].Changes).RootElement.GetProperty("value").GetProperty("new").GetRawText());
        Assert.Equal("3", System.Text.Json.JsonDocument.Parse(rows[5].Changes).RootElement.GetProperty("value").GetProperty("new").GetRawText());
        var verdict = await Fixture.VerifyAsync(tenant);
        Assert.True(verdict.Valid, verdict.Problem);
        Assert.Equal(6, verdict.Checked);
    }

    private async Task<long> AnchoredSeqAsync(TenantInfo tenant) =>
        await Fixture.SuperuserScalarAsync<long>("SELECT seq FROM platform.audit_anchors WHERE tenant_id = $1", tenant.Id);
}
