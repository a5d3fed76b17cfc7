using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Monolith.SharedKernel.Events;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Isolation;
using Monolith.Tests.Support;
using Monolith.Toggles.Contracts;
using Npgsql;

namespace Monolith.Tests.Toggles;

/// <summary>
/// The default of undefined toggles is Tenancy's setting: Toggles follows its writes through Tenancy's
/// <see cref="TenantSettingChanged"/> event, in the writing transaction, and hangs nothing on Tenancy's table.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class UndefinedDefaultFollowsSettingsTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    private const string Alpha = MonolithFixture.Alpha;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Fixture.Factory.ClearToggleCache();
    }

    [Fact]
    public async Task Writing_the_undefined_default_through_settings_moves_the_toggle_state_and_notifies_the_tenant()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        var before = await StateVersionAsync();
        await using var listener = await ListenAsync();

        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/settings/toggles.undefined-default", new { value = true })).StatusCode);

        Assert.Equal($"{TenantIdentifier.SchemaNameOf(Alpha)}:*", await listener.NextAsync(TimeSpan.FromSeconds(10)));
        Assert.NotEqual(before, await StateVersionAsync());
        Assert.True(await ToggleTestSupport.EventuallyAsync(async () =>
            await Fixture.Factory.EvaluateAsync(Alpha, "never.defined") == new ToggleEvaluation("never.defined", true, ToggleReason.Undefined)));
    }

    [Fact]
    public async Task Another_setting_leaves_the_toggle_state_alone()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.PutAsJsonAsync("/settings/toggles.undefined-default", new { value = false });
        var before = await StateVersionAsync();
        await using var listener = await ListenAsync();

        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/settings/theme", new { value = "dark" })).StatusCode);

        Assert.Null(await listener.NextAsync(TimeSpan.FromMilliseconds(500)));
        Assert.Equal(before, await StateVersionAsync());
    }

    [Fact]
    public async Task A_settings_write_that_rolls_back_changes_neither_the_toggle_state_nor_evaluation()
    {
        Assert.False((await Fixture.Factory.EvaluateAsync(Alpha, "never.defined")).Enabled); // cached now
        var before = await StateVersionAsync();
        await using var listener = await ListenAsync();
        var tenant = (await Fixture.Service<TenantCatalog>().FindAsync(Alpha, CancellationToken.None))!;

        using (Fixture.Service<TenantContext>().Enter(tenant))
        await using (var work = await Fixture.Service<TenantDatabase>().BeginAsync())
        {
            // The settings endpoint's write and publication, then a failure before its commit.
            await using (var write = work.Command("INSERT INTO tenant_settings (key, value) VALUES ('toggles.undefined-default', 'true')"))
            {
                await write.ExecuteNonQueryAsync();
            }

            using var scope = Fixture.Factory.Services.CreateScope();
            await scope.ServiceProvider.GetRequiredService<InProcessEvents>()
                .PublishAsync(new TenantSettingChanged(tenant, "toggles.undefined-default"), work.Transaction, CancellationToken.None);
            Assert.NotEqual(before, await StateVersionAsync(work.Connection, work.Transaction)); // the follower did its part in there
        }

        Assert.Null(await listener.NextAsync(TimeSpan.FromMilliseconds(500)));
        Assert.Equal(before, await StateVersionAsync());
        Fixture.Factory.ClearToggleCache();
        Assert.Equal(new ToggleEvaluation("never.defined", false, ToggleReason.Undefined), await Fixture.Factory.EvaluateAsync(Alpha, "never.defined"));
    }

    [Fact]
    public async Task Toggles_hangs_no_trigger_on_tenancys_settings_table()
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY tgname", connection);
        command.Parameters.AddWithValue($"\"{TenantIdentifier.SchemaNameOf(Alpha)}\".tenant_settings");
        var triggers = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                triggers.Add(reader.GetString(0));
            }
        }

        Assert.Equal(["audit"], triggers);
    }

    private async Task<long?> StateVersionAsync()
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        return await StateVersionAsync(connection, null);
    }

    private static async Task<long?> StateVersionAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT version FROM \"{TenantIdentifier.SchemaNameOf(Alpha)}\".feature_toggle_state WHERE id = 1", connection, transaction);
        return await command.ExecuteScalarAsync() as long?;
    }

    private async Task<Listener> ListenAsync()
    {
        var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        var listener = new Listener(connection);
        await using var listen = new NpgsqlCommand("LISTEN monolith_toggles", connection);
        await listen.ExecuteNonQueryAsync();
        return listener;
    }

    /// <summary>A superuser's LISTEN on the toggles' channel: the payloads that name tenant alpha.</summary>
    private sealed class Listener : IAsyncDisposable
    {
        private readonly NpgsqlConnection connection;
        private readonly Queue<string> payloads = new();

        public Listener(NpgsqlConnection connection)
        {
            this.connection = connection;
            connection.Notification += (_, e) =>
            {
                if (e.Payload.StartsWith(TenantIdentifier.SchemaNameOf(Alpha) + ":", StringComparison.Ordinal))
                {
                    payloads.Enqueue(e.Payload);
                }
            };
        }

        public async Task<string?> NextAsync(TimeSpan deadline)
        {
            var until = DateTime.UtcNow + deadline;
            while (payloads.Count == 0 && DateTime.UtcNow < until)
            {
                using var wait = new CancellationTokenSource(until - DateTime.UtcNow);
                try
                {
                    await connection.WaitAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            return payloads.Count > 0 ? payloads.Dequeue() : null;
        }

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }
}
