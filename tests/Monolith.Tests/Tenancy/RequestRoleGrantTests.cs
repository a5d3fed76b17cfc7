using Monolith.Tenancy.Provisioning;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// The start-up reconciliation of the request role's grants (<c>platform.grant_request_role</c>, platform script 0082):
/// the request role and the owner get each tenant role they lack, and a run with nothing missing grants nothing.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class RequestRoleGrantTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task The_request_role_and_the_owner_are_granted_the_tenant_roles_they_lack_and_nothing_more()
    {
        var tenant = await Fixture.ProvisionAsync(MonolithFixture.UniqueIdentifier("regrant"));
        var request = new NpgsqlConnectionStringBuilder(Fixture.Connections.App).Username!;
        var owner = new NpgsqlConnectionStringBuilder(Fixture.Connections.Owner).Username!;
        await using var connection = new NpgsqlConnection(Fixture.Connections.Owner);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        // Host start-ups elsewhere in the run reconcile under the same lock: none of them can put a grant back meanwhile.
        await TenantLocks.LockRoleChangesAsync(connection, transaction, CancellationToken.None);
        await ExecuteAsync($"REVOKE {tenant.RoleName} FROM {request}");
        Assert.False(await IsMemberAsync(request));

        Assert.Equal(1, await GrantAsync());
        Assert.True(await IsMemberAsync(request));
        Assert.True(await IsMemberAsync(owner));
        Assert.Equal(0, await GrantAsync()); // nothing missing: nothing granted

        await ExecuteAsync($"REVOKE {tenant.RoleName} FROM {owner}");
        Assert.False(await IsMemberAsync(owner));
        Assert.Equal(1, await GrantAsync());
        Assert.True(await IsMemberAsync(owner));
        await transaction.CommitAsync();

        async Task ExecuteAsync(string sql)
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            await command.ExecuteNonQueryAsync();
        }

        async Task<int> GrantAsync()
        {
            await using var command = new NpgsqlCommand("SELECT platform.grant_request_role($1)", connection, transaction);
            command.Parameters.AddWithValue(request);
            return (int)(await command.ExecuteScalarAsync())!;
        }

        async Task<bool> IsMemberAsync(string role)
        {
            await using var command = new NpgsqlCommand(
                "SELECT EXISTS (SELECT 1 FROM pg_auth_members WHERE roleid = $1::regrole AND member = $2::regrole)", connection, transaction);
            command.Parameters.AddWithValue(tenant.RoleName);
            command.Parameters.AddWithValue(role);
            return (bool)(await command.ExecuteScalarAsync())!;
        }
    }
}
