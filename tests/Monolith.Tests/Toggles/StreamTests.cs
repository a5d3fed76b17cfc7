using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tests.Access;
using Monolith.Tests.Support;
using Monolith.Toggles.Stream;
using Npgsql;

namespace Monolith.Tests.Toggles;

/// <summary>
/// <c>GET /features/stream</c> (CONTRACT §5) on two host instances: each tenant's changes reach its own streams within 1 s
/// whichever instance (or SQL) made them, and no other tenant's; streams close when access ends (§3); they hold no
/// database connection, take no concurrency slot and outlive the request time limit. Waits are bounded, and the only
/// deadlines are the contract's.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class StreamTests(StreamHostsFixture hosts) : IClassFixture<StreamHostsFixture>
{
    private static readonly TimeSpan OneSecond = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_change_reaches_its_tenants_streams_on_both_instances_within_one_second_and_never_another_tenants()
    {
        var (_, firstViewer) = await hosts.UserAsync(hosts.First, "viewer");
        var (_, secondViewer) = await hosts.UserAsync(hosts.Second, "viewer");
        await using var firstOnA = await SseStream.OpenAsync(hosts.A.TenantClient(hosts.First).WithBearer(firstViewer.AccessToken));
        await using var firstOnB = await SseStream.OpenAsync(hosts.B.TenantClient(hosts.First).WithBearer(firstViewer.AccessToken));
        await using var secondOnA = await SseStream.OpenAsync(hosts.A.TenantClient(hosts.Second).WithBearer(secondViewer.AccessToken));
        await using var secondOnB = await SseStream.OpenAsync(hosts.B.TenantClient(hosts.Second).WithBearer(secondViewer.AccessToken));
        var key = ToggleTestSupport.UniqueKey("stream");

        // Made through instance A, then through instance B: both instances' streams of the tenant hear each.
        await (await StreamHostsFixture.OwnerAsync(hosts.A, hosts.First)).DefineAsync(key, true);
        var onA = firstOnA.NextToggleAsync(key, OneSecond);
        var onB = firstOnB.NextToggleAsync(key, OneSecond);
        AssertToggle(await onA, key, null, true, "default");
        AssertToggle(await onB, key, null, true, "default");

        await (await StreamHostsFixture.OwnerAsync(hosts.B, hosts.First)).DefineAsync(key, false);
        onA = firstOnA.NextToggleAsync(key, OneSecond);
        onB = firstOnB.NextToggleAsync(key, OneSecond);
        AssertToggle(await onA, key, null, false, "default");
        AssertToggle(await onB, key, null, false, "default");

        // The other tenant's change of a key of the same name reaches only its own streams.
        await (await StreamHostsFixture.OwnerAsync(hosts.B, hosts.Second)).DefineAsync(key, true);
        AssertToggle(await secondOnA.NextToggleAsync(key, OneSecond), key, null, true, "default");
        AssertToggle(await secondOnB.NextToggleAsync(key, OneSecond), key, null, true, "default");

        Assert.Null(await firstOnA.NextToggleAsync(key, OneSecond)); // nothing more came: not the second tenant's change
        Assert.Null(await firstOnB.NextToggleAsync(key, TimeSpan.FromMilliseconds(100)));
        Assert.Single(secondOnA.Seen, m => m.EventType == "toggle");
        Assert.Single(secondOnB.Seen, m => m.EventType == "toggle");
    }

    [Fact]
    public async Task Tenant_and_project_level_changes_carry_their_project_and_reason_whatever_path_made_them()
    {
        var owner = await StreamHostsFixture.OwnerAsync(hosts.A, hosts.First);
        var (_, projects) = await ProjectToggleTests.CreateCustomerAsync(owner, 1);
        var project = projects[0];
        var (_, viewer) = await hosts.UserAsync(hosts.First, "viewer");
        await using var stream = await SseStream.OpenAsync(hosts.B.TenantClient(hosts.First).WithBearer(viewer.AccessToken));
        var key = ToggleTestSupport.UniqueKey("levels");

        await owner.DefineAsync(key, false);
        AssertToggle(await stream.NextToggleAsync(key, OneSecond), key, null, false, "default");

        Assert.Equal(HttpStatusCode.Created, (await owner.PutAsJsonAsync($"/projects/{project}/features/{key}", new { enabled = true })).StatusCode);
        AssertToggle(await stream.NextToggleAsync(key, OneSecond), key, project, true, "override");

        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"/projects/{project}/features/{key}")).StatusCode);
        AssertToggle(await stream.NextToggleAsync(key, OneSecond), key, project, false, "default");

        // Behind the API's back (an operator's SQL): the trigger's notification is all the stream needs.
        await using (var sql = new NpgsqlConnection(hosts.Connections.Superuser))
        {
            await sql.OpenAsync();
            await using var update = new NpgsqlCommand(
                $"UPDATE \"{Monolith.Tenancy.TenantIdentifier.SchemaNameOf(hosts.First)}\".feature_toggles SET enabled = true WHERE key = $1", sql);
            update.Parameters.AddWithValue(key);
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }

        AssertToggle(await stream.NextToggleAsync(key, OneSecond), key, null, true, "default");

        // Deleting the toggle deletes its overrides: both the tenant and the project now evaluate it as undefined.
        Assert.Equal(HttpStatusCode.Created, (await owner.PutAsJsonAsync($"/projects/{project}/features/{key}", new { enabled = false })).StatusCode);
        AssertToggle(await stream.NextToggleAsync(key, OneSecond), key, project, false, "override");
        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"/features/{key}")).StatusCode);
        var first = await stream.NextToggleAsync(key, OneSecond);
        var second = await stream.NextToggleAsync(key, OneSecond);
        var both = new[] { first, second };
        Assert.Contains(both, m => m is not null && m.Json.GetProperty("projectId").ValueKind == System.Text.Json.JsonValueKind.Null
            && m.Json.GetProperty("reason").GetString() == "undefined" && !m.Json.GetProperty("enabled").GetBoolean());
        Assert.Contains(both, m => m is not null && m.Json.GetProperty("projectId").ValueKind == System.Text.Json.JsonValueKind.String
            && m.Json.GetProperty("projectId").GetGuid() == project && m.Json.GetProperty("reason").GetString() == "undefined");
    }

    [Fact]
    public async Task A_change_of_the_undefined_default_through_settings_reaches_the_stream()
    {
        var owner = await StreamHostsFixture.OwnerAsync(hosts.A, hosts.First);
        var (_, viewer) = await hosts.UserAsync(hosts.First, "viewer");
        await using var stream = await SseStream.OpenAsync(hosts.B.TenantClient(hosts.First).WithBearer(viewer.AccessToken));
        var key = ToggleTestSupport.UniqueKey("fallback");
        await owner.DefineAsync(key, false);
        AssertToggle(await stream.NextToggleAsync(key, OneSecond), key, null, false, "default");

        try
        {
            // Settings are Tenancy's: the feed on the other instance hears of the change through Toggles' follower of
            // TenantSettingChanged, and a toggle deleted afterwards falls back to the new default.
            Assert.Equal(HttpStatusCode.OK, (await owner.PutAsJsonAsync("/settings/toggles.undefined-default", new { value = true })).StatusCode);
            Assert.True(await ToggleTestSupport.EventuallyAsync(async () =>
                (await ToggleTestSupport.EvaluateAsync(hosts.B, hosts.First, "never.defined")).Enabled, Generous));
            Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"/features/{key}")).StatusCode);
            AssertToggle(await stream.NextToggleAsync(key, OneSecond), key, null, true, "undefined");
        }
        finally
        {
            Assert.Equal(HttpStatusCode.OK, (await owner.PutAsJsonAsync("/settings/toggles.undefined-default", new { value = false })).StatusCode);
        }
    }

    [Fact]
    public async Task A_disabled_users_stream_closes_within_one_second_on_another_instance()
    {
        var (user, tokens) = await hosts.UserAsync(hosts.First, "viewer");
        await using var stream = await SseStream.OpenAsync(hosts.B.TenantClient(hosts.First).WithBearer(tokens.AccessToken));

        var owner = await StreamHostsFixture.OwnerAsync(hosts.A, hosts.First);
        Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"/users/{user.Id}", new { status = "disabled" })).StatusCode);

        Assert.Same(stream.Ended, await Task.WhenAny(stream.Ended, Task.Delay(OneSecond)));
        Assert.Contains(stream.Seen, m => m.Comment == "closed: access ended");
    }

    [Fact]
    public async Task A_logged_out_sessions_stream_closes_and_the_users_other_session_keeps_its_own()
    {
        var (user, first) = await hosts.UserAsync(hosts.First, "member");
        var other = await hosts.A.LoginAsync(hosts.First, user.Email, user.Password);
        await using var ending = await SseStream.OpenAsync(hosts.B.TenantClient(hosts.First).WithBearer(first.AccessToken));
        await using var staying = await SseStream.OpenAsync(hosts.B.TenantClient(hosts.First).WithBearer(other.AccessToken));

        Assert.Equal(HttpStatusCode.NoContent,
            (await hosts.A.TenantClient(hosts.First).PostAsJsonAsync("/auth/logout", new { refreshToken = first.RefreshToken })).StatusCode);

        Assert.Same(ending.Ended, await Task.WhenAny(ending.Ended, Task.Delay(OneSecond)));
        var key = ToggleTestSupport.UniqueKey("after");
        await (await StreamHostsFixture.OwnerAsync(hosts.A, hosts.First)).DefineAsync(key, true);
        AssertToggle(await staying.NextToggleAsync(key, OneSecond), key, null, true, "default");
        Assert.False(staying.Ended.IsCompleted);
    }

    [Fact]
    public async Task Two_hundred_streams_on_one_instance_hold_no_database_connection_and_share_one_read_per_change()
    {
        var (_, viewer) = await hosts.UserAsync(hosts.Second, "viewer");
        var owner = await StreamHostsFixture.OwnerAsync(hosts.A, hosts.Second);
        // The viewer's session in host A's access cache and the pool warm: what is counted next is what the streams hold.
        Assert.Equal(HttpStatusCode.OK, (await hosts.A.TenantClient(hosts.Second).WithBearer(viewer.AccessToken).GetAsync("/features")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/features")).StatusCode);
        var before = await HostAConnectionsAsync();
        var feeds = hosts.A.Services.GetRequiredService<ToggleFeeds>();
        var subscribedBefore = feeds.Subscribers;

        var streams = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => SseStream.OpenAsync(hosts.A.TenantClient(hosts.Second).WithBearer(viewer.AccessToken))));
        try
        {
            Assert.True(feeds.Subscribers >= 200);
            var open = await HostAConnectionsAsync();
            Assert.True(open <= before + 2, $"{before} connections of host A before the streams, {open} with 200 open");
            Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/features")).StatusCode);

            var reader = hosts.A.Services.GetRequiredService<ToggleFeedReader>();
            var reads = reader.Reads;
            var key = ToggleTestSupport.UniqueKey("many");
            await owner.DefineAsync(key, true);
            var arrived = await Task.WhenAll(streams.Select(s => s.NextToggleAsync(key, Generous)));
            Assert.All(arrived, m => AssertToggle(m, key, null, true, "default"));
            // One read of the changed key for the tenant's 200 streams (a second only if a re-read happened to coincide).
            Assert.InRange(reader.Reads - reads, 1, 2);
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }
        }

        // The clients left: their subscriptions are gone (other tests' streams on this host are not this test's to count).
        Assert.True(await ToggleTestSupport.EventuallyAsync(() => Task.FromResult(feeds.Subscribers <= subscribedBefore)),
            $"{feeds.Subscribers} subscribers left, {subscribedBefore} before the 200 opened");
    }

    [Fact]
    public async Task Streams_send_keep_alive_comments_outlive_the_request_time_limit_and_take_no_concurrency_slot()
    {
        var (_, viewer) = await hosts.UserAsync(hosts.First, "viewer");
        var streams = new List<SseStream>();
        try
        {
            // Host A gives a tenant two concurrency slots: four open streams must leave them to the tenant's requests.
            for (var i = 0; i < 4; i++)
            {
                streams.Add(await SseStream.OpenAsync(hosts.A.TenantClient(hosts.First).WithBearer(viewer.AccessToken)));
            }

            var owner = await StreamHostsFixture.OwnerAsync(hosts.A, hosts.First);
            Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/features")).StatusCode);
            Assert.NotNull(await streams[0].NextAsync(m => m.Comment == "keep-alive", Generous));

            await Task.Delay(StreamHostsFixture.RequestTimeoutMilliseconds + 500);
            Assert.False(streams[0].Ended.IsCompleted, "the stream ended at the request time limit");
            var key = ToggleTestSupport.UniqueKey("late");
            await owner.DefineAsync(key, true);
            AssertToggle(await streams[0].NextToggleAsync(key, OneSecond), key, null, true, "default");
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Without_a_token_it_is_401_every_role_may_read_and_another_tenants_token_is_refused()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await SseStream.RequestAsync(hosts.A.TenantClient(hosts.First))).StatusCode);

        foreach (var role in new[] { "viewer", "member", "admin" })
        {
            var (_, tokens) = await hosts.UserAsync(hosts.First, role);
            await using var stream = await SseStream.OpenAsync(hosts.A.TenantClient(hosts.First).WithBearer(tokens.AccessToken));
        }

        var (_, firstTokens) = await hosts.UserAsync(hosts.First, "viewer");
        var refused = await SseStream.RequestAsync(hosts.A.TenantClient(hosts.Second).WithBearer(firstTokens.AccessToken));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    private static void AssertToggle(SseMessage? message, string key, Guid? projectId, bool enabled, string reason)
    {
        Assert.NotNull(message);
        Assert.Equal("toggle", message.EventType);
        var data = message.Json;
        Assert.Equal(key, data.GetProperty("key").GetString());
        Assert.Equal(projectId, data.GetProperty("projectId").ValueKind == System.Text.Json.JsonValueKind.Null ? null : data.GetProperty("projectId").GetGuid());
        Assert.Equal(enabled, data.GetProperty("enabled").GetBoolean());
        Assert.Equal(reason, data.GetProperty("reason").GetString());
    }

    private static async Task<long> HostAConnectionsAsync()
    {
        var database = await TestDatabase.Shared;
        await using var connection = new NpgsqlConnection(database.Connections.Superuser);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", connection);
        count.Parameters.AddWithValue(StreamHostsFixture.HostAApplicationName);
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
