using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tests.Support;
using Monolith.Toggles.Schedules;
using Npgsql;

namespace Monolith.Tests.Toggles;

/// <summary>Scheduled changes: <c>/features/{key}/schedule</c>, applied by the scheduler job at their time.</summary>
[Trait("Category", Categories.Integration)]
public sealed class ScheduledToggleChangeTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    private const string Alpha = MonolithFixture.Alpha;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Fixture.Factory.ClearToggleCache();
    }

    [Fact]
    public async Task A_due_scheduled_change_turns_the_toggle_on_once_in_the_audit_trail_as_the_job()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.DefineAsync("launch", false);
        var created = await admin.PostAsJsonAsync("/features/launch/schedule", new { at = DateTimeOffset.UtcNow.AddHours(1), enabled = true });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.Equal($"/features/launch/schedule/{id}", created.Headers.Location?.OriginalString);
        var scheduler = Fixture.Service<ToggleScheduler>();

        await scheduler.RunOnceAsync(CancellationToken.None);
        Assert.False((await Fixture.Factory.EvaluateAsync(Alpha, "launch")).Enabled); // not due yet

        await ExecuteAsync($"UPDATE alpha.feature_schedules SET at = now() - interval '1 second' WHERE id = '{id}'");
        await scheduler.RunOnceAsync(CancellationToken.None);

        Assert.True((await Fixture.Factory.EvaluateAsync(Alpha, "launch")).Enabled);
        var definition = await admin.GetFromJsonAsync<JsonElement>("/features/launch");
        Assert.True(definition.GetProperty("enabled").GetBoolean());
        Assert.Equal(ToggleScheduler.ActorName, definition.GetProperty("updatedBy").GetProperty("email").GetString());
        Assert.Empty((await admin.GetFromJsonAsync<JsonElement>("/features/launch/schedule")).GetProperty("items").EnumerateArray());
        Assert.Equal(0, await scheduler.RunOnceAsync(CancellationToken.None));
        Assert.Equal(1, await CountAsync(
            "SELECT count(*) FROM alpha.audit_events WHERE entity_type = 'feature_toggle' AND entity_id = 'launch' AND action = 'update' AND actor_kind = 'job'"));
        Assert.Equal(1, await CountAsync(
            $"SELECT count(*) FROM alpha.audit_events WHERE entity_type = 'feature_schedule' AND entity_id = '{id}' AND action = 'delete'"));
    }

    [Fact]
    public async Task A_due_scheduled_change_is_applied_once_with_two_hosts_running_the_job()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.DefineAsync("launch", false);
        await using var first = StartJobServer();
        await using var second = StartJobServer();

        var created = await admin.PostAsJsonAsync("/features/launch/schedule", new { at = DateTimeOffset.UtcNow.AddSeconds(2), enabled = true });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(await admin.GetFromJsonAsync<JsonElement>("/features/launch")).GetProperty("enabled").GetBoolean() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        // Both hosts keep running the job (every second) for a while after the change; and both race for it once more.
        await Task.Delay(TimeSpan.FromSeconds(3));
        await Task.WhenAll(
            first.Services.GetRequiredService<ToggleScheduler>().RunOnceAsync(CancellationToken.None),
            second.Services.GetRequiredService<ToggleScheduler>().RunOnceAsync(CancellationToken.None));

        Assert.True((await admin.GetFromJsonAsync<JsonElement>("/features/launch")).GetProperty("enabled").GetBoolean());
        Assert.Equal(1, await CountAsync(
            "SELECT count(*) FROM alpha.audit_events WHERE entity_type = 'feature_toggle' AND entity_id = 'launch' AND action = 'update' AND actor_kind = 'job'"));
        Assert.Equal(1, await CountAsync(
            $"SELECT count(*) FROM alpha.audit_events WHERE entity_type = 'feature_schedule' AND entity_id = '{id}' AND action = 'delete'"));
        Assert.Equal(0, await CountAsync(
            "SELECT count(*) FROM platform.toggle_schedule_due d JOIN platform.tenants t ON t.id = d.tenant_id WHERE t.schema_name = 'alpha'"));
    }

    [Fact]
    public async Task When_several_changes_are_due_the_latest_wins()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.DefineAsync("launch", false);
        await admin.PostAsJsonAsync("/features/launch/schedule", new { at = DateTimeOffset.UtcNow.AddHours(1), enabled = false });
        await admin.PostAsJsonAsync("/features/launch/schedule", new { at = DateTimeOffset.UtcNow.AddHours(2), enabled = true });
        await admin.PostAsJsonAsync("/features/launch/schedule", new { at = DateTimeOffset.UtcNow.AddHours(3), enabled = false });

        // The first two become due; the third stays pending.
        await ExecuteAsync("UPDATE alpha.feature_schedules SET at = at - interval '2 hours 30 minutes'");
        await Fixture.Service<ToggleScheduler>().RunOnceAsync(CancellationToken.None);

        var schedule = await admin.GetFromJsonAsync<JsonElement>("/features/launch/schedule");
        Assert.Single(schedule.GetProperty("items").EnumerateArray());
        Assert.False(schedule.GetProperty("items")[0].GetProperty("enabled").GetBoolean());
        Assert.True((await Fixture.Factory.EvaluateAsync(Alpha, "launch")).Enabled);
    }

    [Fact]
    public async Task A_schedule_in_the_past_or_without_fields_is_400_naming_each_field()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.DefineAsync("launch", false);

        var past = await admin.PostAsJsonAsync("/features/launch/schedule", new { at = DateTimeOffset.UtcNow.AddMinutes(-1), enabled = true });
        var empty = await admin.PostAsJsonAsync("/features/launch/schedule", new { });

        Assert.Equal(HttpStatusCode.BadRequest, past.StatusCode);
        Assert.True((await past.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("at", out _));
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        var errors = (await empty.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("at", out _));
        Assert.True(errors.TryGetProperty("enabled", out _));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM alpha.feature_schedules"));
    }

    [Fact]
    public async Task Scheduling_an_undefined_toggle_is_404_and_a_bad_key_400()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");

        Assert.Equal(HttpStatusCode.NotFound,
            (await admin.PostAsJsonAsync("/features/not-defined/schedule", new { at = DateTimeOffset.UtcNow.AddHours(1), enabled = true })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/features/not-defined/schedule")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest,
            (await admin.PostAsJsonAsync("/features/Bad-Key/schedule", new { at = DateTimeOffset.UtcNow.AddHours(1), enabled = true })).StatusCode);
    }

    [Fact]
    public async Task Members_read_schedules_but_only_admins_change_them_and_a_cancelled_one_is_gone()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.DefineAsync("launch", false);
        var created = await admin.PostAsJsonAsync("/features/launch/schedule", new { at = DateTimeOffset.UtcNow.AddHours(1), enabled = true });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var member = await Fixture.ClientAsAsync(Alpha, "member");

        Assert.Equal(HttpStatusCode.OK, (await member.GetAsync("/features/launch/schedule")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden,
            (await member.PostAsJsonAsync("/features/launch/schedule", new { at = DateTimeOffset.UtcNow.AddHours(1), enabled = true })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.DeleteAsync($"/features/launch/schedule/{id}")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/features/launch/schedule/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/features/launch/schedule/{id}")).StatusCode);
    }

    [Fact]
    public async Task Deleting_a_toggle_removes_its_scheduled_changes()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.DefineAsync("launch", false);
        await admin.PostAsJsonAsync("/features/launch/schedule", new { at = DateTimeOffset.UtcNow.AddHours(1), enabled = true });

        await admin.DeleteAsync("/features/launch");

        Assert.Equal(0, await CountAsync("SELECT count(*) FROM alpha.feature_schedules"));
    }

    /// <summary>
    /// Moves schedules in time as an operator would, triggers off (the audit trigger expects a tenant session), then
    /// puts the tenant's due hint (platform.toggle_schedule_due, kept by a trigger) where the trigger would have.
    /// </summary>
    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"""
            SET session_replication_role = replica; {sql}; RESET session_replication_role;
            INSERT INTO platform.toggle_schedule_due (tenant_id, due_at)
            SELECT t.id, s.at FROM platform.tenants t, (SELECT min(at) AS at FROM alpha.feature_schedules) s
            WHERE t.schema_name = 'alpha' AND s.at IS NOT NULL
            ON CONFLICT (tenant_id) DO UPDATE SET due_at = excluded.due_at;
            """, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>A host that runs a Hangfire server, polling fast, with the scheduled-change job every second.</summary>
    private MonolithFactory StartJobServer()
    {
        var factory = new MonolithFactory(Fixture.Connections, new Dictionary<string, string?>
        {
            ["Jobs:ServerEnabled"] = "true",
            ["Jobs:QueuePollMilliseconds"] = "200",
            ["Jobs:SchedulePollMilliseconds"] = "200",
            ["Toggles:ScheduleSeconds"] = "1",
        });
        _ = factory.Server;
        return factory;
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
