using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy;
using Monolith.Tenancy.Isolation;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Auditing;

/// <summary>The trigger-written trail: every path that changes tenant data leaves exactly its records, in its transaction.</summary>
[Trait("Category", Categories.Integration)]
public sealed class AuditTrailTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task Create_update_and_delete_from_the_cli_are_recorded_with_the_cli_actor_and_their_values()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        var operation = AuditTestData.Cli("cli-req-1");
        await Fixture.PutSettingAsync(alpha, "theme", "\"dark\"", operation);
        await Fixture.PutSettingAsync(alpha, "theme", "\"light\"", operation);
        await Fixture.TenantSqlAsync(alpha, "DELETE FROM tenant_settings WHERE key = 'theme'", operation);

        var rows = (await Fixture.AuditRowsAsync(alpha)).Where(r => r.EntityId == "theme").ToList();
        Assert.Equal(["create", "update", "delete"], rows.Select(r => r.Action));
        Assert.All(rows, r =>
        {
            Assert.Equal("tenant_setting", r.EntityType);
            Assert.Equal(ActorKinds.Cli, r.ActorKind);
            Assert.Equal("cli", r.ActorEmail);
            Assert.Null(r.ActorId);
            Assert.Equal("cli-req-1", r.RequestId);
        });

        var created = JsonDocument.Parse(rows[0].Changes).RootElement;
        Assert.Equal(JsonValueKind.Null, created.GetProperty("value").GetProperty("old").ValueKind);
        Assert.Equal("dark", created.GetProperty("value").GetProperty("new").GetString());

        var updated = JsonDocument.Parse(rows[1].Changes).RootElement;
        Assert.Equal("dark", updated.GetProperty("value").GetProperty("old").GetString());
        Assert.Equal("light", updated.GetProperty("value").GetProperty("new").GetString());
        Assert.False(updated.TryGetProperty("key", out _)); // unchanged columns are not in an update's changes

        var deleted = JsonDocument.Parse(rows[2].Changes).RootElement;
        Assert.Equal("light", deleted.GetProperty("value").GetProperty("old").GetString());
        Assert.Equal(JsonValueKind.Null, deleted.GetProperty("value").GetProperty("new").ValueKind);
    }

    [Fact]
    public async Task A_bulk_sql_update_and_delete_record_one_event_per_row()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "bulk", 3);
        await Fixture.TenantSqlAsync(alpha, "UPDATE tenant_settings SET value = '42'::jsonb WHERE key LIKE 'bulk-%'");
        await Fixture.TenantSqlAsync(alpha, "DELETE FROM tenant_settings WHERE key LIKE 'bulk-%'");

        var rows = (await Fixture.AuditRowsAsync(alpha)).Where(r => r.EntityId.StartsWith("bulk-", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, rows.Count(r => r.Action == "create"));
        Assert.Equal(3, rows.Count(r => r.Action == "update"));
        Assert.Equal(3, rows.Count(r => r.Action == "delete"));
        Assert.Equal(["bulk-0", "bulk-1", "bulk-2"], rows.Where(r => r.Action == "delete").Select(r => r.EntityId).Order());
    }

    [Fact]
    public async Task Ef_core_execute_update_and_execute_delete_are_recorded_per_row()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        await Fixture.WriteChangesAsync(alpha, "ef", 2);

        using (Fixture.Service<TenantContext>().Enter(alpha))
        using (OperationContext.Begin(AuditTestData.Cli("ef-bulk")))
        {
            await using var session = await Fixture.Service<TenantDatabase>().BeginAsync();
            await using var db = new SettingsDb();
            await session.EnlistAsync(db, CancellationToken.None);
            Assert.Equal(2, await db.Settings.Where(s => s.Key.StartsWith("ef-")).ExecuteUpdateAsync(u => u.SetProperty(s => s.UpdatedAt, DateTimeOffset.UnixEpoch)));
            Assert.Equal(2, await db.Settings.Where(s => s.Key.StartsWith("ef-")).ExecuteDeleteAsync());
            await session.CommitAsync(CancellationToken.None);
        }

        var rows = (await Fixture.AuditRowsAsync(alpha)).Where(r => r.RequestId == "ef-bulk").ToList();
        Assert.Equal(2, rows.Count(r => r.Action == "update"));
        Assert.Equal(2, rows.Count(r => r.Action == "delete"));
        Assert.All(rows.Where(r => r.Action == "update"), r => Assert.Contains("updated_at", r.Changes, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_rolled_back_change_leaves_no_record()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        var before = (await Fixture.AuditRowsAsync(alpha)).Count;

        using (Fixture.Service<TenantContext>().Enter(alpha))
        using (OperationContext.Begin(AuditTestData.Cli()))
        {
            await using var session = await Fixture.Service<TenantDatabase>().BeginAsync();
            var (connection, transaction) = (session.Connection, session.Transaction);
            await using (var insert = new NpgsqlCommand("INSERT INTO tenant_settings (key, value) VALUES ('doomed', '1')", connection, transaction))
            {
                await insert.ExecuteNonQueryAsync();
            }

            // Records are sealed at commit; sealing now shows the record is written in the change's own transaction...
            await using (var seal = new NpgsqlCommand("SET CONSTRAINTS ALL IMMEDIATE", connection, transaction))
            {
                await seal.ExecuteNonQueryAsync();
            }

            await using (var seen = new NpgsqlCommand("SELECT count(*) FROM audit_events WHERE entity_id = 'doomed'", connection, transaction))
            {
                Assert.Equal(1L, await seen.ExecuteScalarAsync());
            }

            await transaction.RollbackAsync();
        }

        var rows = await Fixture.AuditRowsAsync(alpha);
        Assert.Equal(before, rows.Count); // ...and gone with it
        Assert.DoesNotContain(rows, r => r.EntityId == "doomed");
        await Fixture.WriteChangesAsync(alpha, "after-rollback", 1);
        Assert.True((await Fixture.VerifyAsync(alpha)).Valid); // and the chain goes on from the last committed record
    }

    [Fact]
    public async Task A_sensitive_column_is_recorded_as_changed_without_its_value()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        var id = Guid.CreateVersion7();
        await Fixture.TenantSqlAsync(alpha,
            "INSERT INTO users (id, email, name, role, password_hash) VALUES ($1, 'sensitive@alpha.test', 'S', 'member', 'hash-one-secret')",
            parameters: id);
        await Fixture.TenantSqlAsync(alpha, "UPDATE users SET password_hash = 'hash-two-secret' WHERE id = $1", parameters: id);

        var rows = (await Fixture.AuditRowsAsync(alpha)).Where(r => r.EntityId == id.ToString()).ToList();
        Assert.Equal(["create", "update"], rows.Select(r => r.Action));
        Assert.All(rows, r =>
        {
            Assert.DoesNotContain("secret", r.Changes, StringComparison.Ordinal);
            Assert.True(JsonDocument.Parse(r.Changes).RootElement.GetProperty("password_hash").GetProperty("redacted").GetBoolean());
        });
    }

    [Fact]
    public async Task A_tenant_created_from_the_cli_records_its_owner_with_the_cli_as_actor_and_no_password()
    {
        var identifier = MonolithFixture.UniqueIdentifier("clia");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await Monolith.Cli.CliApp.RunAsync(
            ["tenants", "create", identifier, "--name", "From the CLI", "--owner-email", $"owner@{identifier}.test"], stdout, stderr,
            [.. Fixture.Connections.Settings]);
        Assert.True(exit == Monolith.Cli.CliApp.Success, stderr.ToString());
        var password = stdout.ToString().Split('\n').Single(l => l.StartsWith("owner password", StringComparison.Ordinal)).Split(": ")[1].Trim();

        var owner = Assert.Single(await Fixture.AuditRowsAsync(await Fixture.TenantAsync(identifier)), r => r.EntityType == "user");
        Assert.Equal("create", owner.Action);
        Assert.Equal(ActorKinds.Cli, owner.ActorKind);
        Assert.StartsWith("cli-", owner.RequestId, StringComparison.Ordinal);
        Assert.Contains($"owner@{identifier}.test", owner.Changes, StringComparison.Ordinal);
        Assert.DoesNotContain(password, owner.Changes, StringComparison.Ordinal);
        Assert.True(JsonDocument.Parse(owner.Changes).RootElement.GetProperty("password_hash").GetProperty("redacted").GetBoolean());
    }

    [Fact]
    public async Task The_tenant_role_cannot_write_the_retention_anchor()
    {
        var alpha = await Fixture.TenantAsync(MonolithFixture.Alpha);
        var error = await Assert.ThrowsAsync<PostgresException>(() => Fixture.TenantSqlAsync(alpha,
            "INSERT INTO audit_chain_anchor (last_seq, last_hash, removed, updated_at) VALUES (1, '\\x00', 0, now())"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
    }

    /// <summary>A module-style DbContext over tenant_settings, configured the way every module's is.</summary>
    private sealed class SettingsDb : DbContext
    {
        public DbSet<Setting> Settings => Set<Setting>();

        protected override void OnConfiguring(DbContextOptionsBuilder optionsBuilder) => TenantDatabase.Configure(optionsBuilder);

        protected override void OnModelCreating(ModelBuilder modelBuilder) =>
            modelBuilder.Entity<Setting>(e =>
            {
                e.ToTable("tenant_settings");
                e.HasKey(s => s.Key);
                e.Property(s => s.Key).HasColumnName("key");
                e.Property(s => s.Value).HasColumnName("value").HasColumnType("jsonb");
                e.Property(s => s.UpdatedAt).HasColumnName("updated_at");
            });
    }

    private sealed class Setting
    {
        public string Key { get; set; } = "";

        public string Value { get; set; } = "";

        public DateTimeOffset UpdatedAt { get; set; }
    }
}
