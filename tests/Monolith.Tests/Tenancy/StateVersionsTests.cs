using Monolith.Tenancy;
using Monolith.Tenancy.Notifications;
using Monolith.Tenancy.Provisioning;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// <c>platform.state_versions</c>, the server's copy of each tenant's state versions that the caches' poll reads in one
/// statement (docs/adr/0072): kept in the changing transaction on every path, written by the trigger only, and filled in
/// from the tenant's table for a schema that has none yet.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class StateVersionsTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task A_change_is_copied_when_it_commits_also_with_ordinary_triggers_off_and_read_back_in_order()
    {
        var tenant = await Fixture.ProvisionAsync(MonolithFixture.UniqueIdentifier("state"));
        var before = await VersionOfAsync(tenant.SchemaName, "access_state");
        Assert.Equal(new long?[] { before, null }, await ReadAsync("access_state", tenant.SchemaName, "no_such_schema"));

        await using var superuser = new NpgsqlConnection(Fixture.Connections.Superuser);
        await superuser.OpenAsync();
        await using (var transaction = await superuser.BeginTransactionAsync())
        {
            // As the tenant's own role, as the request path writes; not yet committed, so not yet seen.
            await ExecuteAsync(superuser, transaction, $"SET LOCAL ROLE \"{tenant.RoleName}\"; UPDATE \"{tenant.SchemaName}\".access_state SET version = version + 5");
            Assert.Equal(new long?[] { before }, await ReadAsync("access_state", tenant.SchemaName));
            await transaction.CommitAsync();
        }

        Assert.Equal(new long?[] { before + 5 }, await ReadAsync("access_state", tenant.SchemaName));

        // A path that turns ordinary triggers off (a replication apply; a notification lost) still moves the copy.
        await ExecuteAsync(superuser, null,
            $"""
             SET session_replication_role = replica;
             INSERT INTO "{tenant.SchemaName}".feature_toggle_state (id, version) VALUES (1, 4242)
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version;
             RESET session_replication_role;
             """);
        Assert.Equal(new long?[] { 4242 }, await ReadAsync("feature_toggle_state", tenant.SchemaName));
    }

    /// <summary>A tenant may not write the copy (it could write another tenant's), nor read it; neither may the request role.</summary>
    [Fact]
    public async Task Neither_a_tenant_nor_the_request_role_may_touch_the_copy()
    {
        var tenant = await Fixture.ProvisionAsync(MonolithFixture.UniqueIdentifier("state"));
        await using var superuser = new NpgsqlConnection(Fixture.Connections.Superuser);
        await superuser.OpenAsync();
        foreach (var role in new[] { tenant.RoleName, TestDatabase.AppRole })
        {
            foreach (var sql in new[]
                     {
                         "UPDATE platform.state_versions SET version = 0",
                         "SELECT count(*) FROM platform.state_versions",
                         $"SELECT * FROM platform.state_versions_of('access_state', ARRAY['{tenant.SchemaName}'])",
                     })
            {
                await using var transaction = await superuser.BeginTransactionAsync();
                var refused = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(superuser, transaction, $"SET LOCAL ROLE \"{role}\"; {sql}"));
                Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
            }
        }
    }

    /// <summary>
    /// A schema with the trigger but no copy yet (made before the trigger, restored, moved in) gets its copy from its table;
    /// a schema whose table has no trigger (not migrated yet) reads as unknown, so a poll forgets it rather than trust a
    /// copy nothing keeps true.
    /// </summary>
    [Fact]
    public async Task A_missing_copy_is_filled_in_from_the_table_and_a_table_without_the_trigger_reads_as_unknown()
    {
        var tenant = await Fixture.ProvisionAsync(MonolithFixture.UniqueIdentifier("state"));
        await using var superuser = new NpgsqlConnection(Fixture.Connections.Superuser);
        await superuser.OpenAsync();
        await ExecuteAsync(superuser, null, $"UPDATE \"{tenant.SchemaName}\".access_state SET version = 77");
        await ExecuteAsync(superuser, null, $"DELETE FROM platform.state_versions WHERE schema_oid = '\"{tenant.SchemaName}\"'::regnamespace");

        Assert.Equal(new long?[] { 77 }, await ReadAsync("access_state", tenant.SchemaName));
        Assert.Equal(77L, await ScalarAsync(superuser, null,
            $"SELECT version FROM platform.state_versions WHERE schema_oid = '\"{tenant.SchemaName}\"'::regnamespace AND state_table = 'access_state'"));

        await using var transaction = await superuser.BeginTransactionAsync();
        await ExecuteAsync(superuser, transaction,
            $"""
             DROP TRIGGER access_state_mirrored ON "{tenant.SchemaName}".access_state;
             DELETE FROM platform.state_versions WHERE schema_oid = '"{tenant.SchemaName}"'::regnamespace;
             """);
        Assert.Equal(DBNull.Value, await ScalarAsync(superuser, transaction,
            $"SELECT version FROM platform.state_versions_of('access_state', ARRAY['{tenant.SchemaName}'])"));
        await transaction.RollbackAsync();
    }

    [Fact]
    public async Task A_purged_tenant_leaves_no_copy_behind()
    {
        var identifier = MonolithFixture.UniqueIdentifier("state");
        var tenant = await Fixture.ProvisionAsync(identifier);
        await using var superuser = new NpgsqlConnection(Fixture.Connections.Superuser);
        await superuser.OpenAsync();
        var schemaOid = await ScalarAsync(superuser, null, $"SELECT '\"{tenant.SchemaName}\"'::regnamespace::oid::bigint");
        const string Copies = "SELECT count(*) FROM platform.state_versions WHERE schema_oid = $1::bigint::oid";
        await ReadAsync("access_state", tenant.SchemaName); // a new tenant's copies are made by its first change or poll
        await ReadAsync("feature_toggle_state", tenant.SchemaName);
        Assert.Equal(2L, await ScalarAsync(superuser, null, Copies, schemaOid!));

        var provisioner = Fixture.Service<TenantProvisioner>();
        Assert.Equal(ProvisioningStatus.Done, (await provisioner.DeleteAsync(identifier, CancellationToken.None)).Status);
        Assert.Equal(ProvisioningStatus.Done, (await provisioner.PurgeAsync(identifier, archive: false, CancellationToken.None)).Status);

        Assert.Equal(0L, await ScalarAsync(superuser, null, Copies, schemaOid!));
    }

    private async Task<long?[]> ReadAsync(string stateTable, params string[] schemas)
    {
        await using var owner = await Fixture.Service<PlatformDatabase>().OpenConnectionAsync(CancellationToken.None);
        return await StateVersions.ReadAsync(owner, stateTable, schemas, CancellationToken.None);
    }

    private async Task<long> VersionOfAsync(string schema, string stateTable)
    {
        await using var superuser = new NpgsqlConnection(Fixture.Connections.Superuser);
        await superuser.OpenAsync();
        return (long)(await ScalarAsync(superuser, null, $"SELECT coalesce(max(version), 0) FROM \"{schema}\".{stateTable}"))!;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        return await command.ExecuteScalarAsync();
    }
}
