using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tests.Support;
using Monolith.Toggles.Contracts;
using Monolith.Toggles.Evaluation;
using Npgsql;

namespace Monolith.Tests.Toggles;

/// <summary>
/// Two host instances on one database: a change made through one is in force on the other without a
/// restart, through LISTEN/NOTIFY, after the listener's connection was killed, and through the poll when a
/// notification never came. Bounded waits, no timing assertions.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class LiveToggleChangeTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    private const string Alpha = MonolithFixture.Alpha;

    /// <summary>A poll interval no test waits for: whatever arrives, arrived by notification.</summary>
    private static readonly Dictionary<string, string?> NotificationsOnly = new() { ["Toggles:PollMilliseconds"] = "3600000" };

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Fixture.Factory.ClearToggleCache();
    }

    [Fact]
    public async Task A_change_through_one_instance_is_in_force_on_another_without_restart()
    {
        await using var second = new MonolithFactory(Fixture.Connections, NotificationsOnly);
        var listener = await ListeningAsync(second);
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        var project = Guid.CreateVersion7();
        Assert.Equal(ToggleReason.Undefined, (await second.EvaluateAsync(Alpha, "live", project)).Reason); // cached on the second instance now

        await admin.DefineAsync("live", true);
        Assert.True(await ToggleTestSupport.EventuallyAsync(async () => (await second.EvaluateAsync(Alpha, "live", project)).Enabled));

        await admin.DefineAsync("live", false);
        Assert.True(await ToggleTestSupport.EventuallyAsync(async () => !(await second.EvaluateAsync(Alpha, "live", project)).Enabled));

        await admin.DeleteAsync("/features/live");
        Assert.True(await ToggleTestSupport.EventuallyAsync(async () => (await second.EvaluateAsync(Alpha, "live", project)).Reason == ToggleReason.Undefined));
        Assert.Equal(1, listener.Connections);
    }

    [Fact]
    public async Task After_the_listeners_connection_is_killed_it_reconnects_and_changes_arrive_again()
    {
        await using var second = new MonolithFactory(Fixture.Connections, NotificationsOnly);
        var listener = await ListeningAsync(second);
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.DefineAsync("resilient", false);
        Assert.False((await second.EvaluateAsync(Alpha, "resilient")).Enabled);

        await using (var superuser = new NpgsqlConnection(Fixture.ConnectionString))
        {
            await superuser.OpenAsync();
            await using var kill = new NpgsqlCommand("SELECT pg_terminate_backend($1)", superuser);
            kill.Parameters.AddWithValue(listener.ProcessId);
            Assert.True((bool)(await kill.ExecuteScalarAsync())!);
        }

        Assert.True(await ToggleTestSupport.EventuallyAsync(() => Task.FromResult(listener.Connections >= 2 && listener.ProcessId != 0)));
        Assert.False((await second.EvaluateAsync(Alpha, "resilient")).Enabled); // cached again after the reconnect

        await admin.DefineAsync("resilient", true);

        Assert.True(await ToggleTestSupport.EventuallyAsync(async () => (await second.EvaluateAsync(Alpha, "resilient")).Enabled));
    }

    [Fact]
    public async Task A_change_whose_notification_was_lost_is_picked_up_by_the_poll()
    {
        await using var second = new MonolithFactory(Fixture.Connections, new Dictionary<string, string?> { ["Toggles:PollMilliseconds"] = "200" });
        await ListeningAsync(second);
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.DefineAsync("quiet", false);
        Assert.True(await ToggleTestSupport.EventuallyAsync(async () => (await second.EvaluateAsync(Alpha, "quiet")).Reason == ToggleReason.Default));

        // A change that sends no notification (triggers off for this session), but moves the state's version as any change does.
        await using (var superuser = new NpgsqlConnection(Fixture.ConnectionString))
        {
            await superuser.OpenAsync();
            await using var silent = new NpgsqlCommand(
                """
                SET session_replication_role = replica;
                UPDATE alpha.feature_toggles SET enabled = true WHERE key = 'quiet';
                INSERT INTO alpha.feature_toggle_state (id, version) VALUES (1, nextval('alpha.feature_toggle_versions'))
                    ON CONFLICT (id) DO UPDATE SET version = excluded.version;
                RESET session_replication_role;
                """, superuser);
            await silent.ExecuteNonQueryAsync();
        }

        Assert.True(await ToggleTestSupport.EventuallyAsync(async () => (await second.EvaluateAsync(Alpha, "quiet")).Enabled));
    }

    [Fact]
    public async Task A_change_of_the_undefined_default_reaches_another_instance()
    {
        await using var second = new MonolithFactory(Fixture.Connections, NotificationsOnly);
        await ListeningAsync(second);
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        Assert.False((await second.EvaluateAsync(Alpha, "whatever")).Enabled);

        await admin.PutAsJsonAsync("/settings/toggles.undefined-default", new { value = true });

        Assert.True(await ToggleTestSupport.EventuallyAsync(async () => (await second.EvaluateAsync(Alpha, "whatever")).Enabled));
    }

    private static async Task<ToggleChangeListener> ListeningAsync(MonolithFactory factory)
    {
        _ = factory.Server;
        var listener = factory.Services.GetRequiredService<ToggleChangeListener>();
        Assert.True(await ToggleTestSupport.EventuallyAsync(() => Task.FromResult(listener.Connections >= 1 && listener.ProcessId != 0)));
        return listener;
    }
}
