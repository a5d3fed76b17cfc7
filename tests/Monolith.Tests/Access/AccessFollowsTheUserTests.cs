using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Access.Authorization;
using Monolith.Tenancy;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Access;

/// <summary>
/// CONTRACT §3: access follows the user's current state on every host instance within 1 s. The change is made through
/// the shared host (A); the user's token is used on a second instance (B) that has the user cached.
/// </summary>
[Trait("Category", Categories.Security)]
public sealed class AccessFollowsTheUserTests(MonolithFixture fixture, SecondHostFixture second)
    : IntegrationTest(fixture), IClassFixture<SecondHostFixture>
{
    private const string Alpha = MonolithFixture.Alpha;
    private static readonly TimeSpan OneSecond = TimeSpan.FromSeconds(1);

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await SecondHostFixture.ListeningAsync(Fixture.Factory);
    }

    [Fact]
    public async Task A_disabled_user_loses_access_on_another_instance_within_one_second()
    {
        var (user, onB) = await SignedInOnBAsync("member");
        var owner = await OwnerOnAAsync();

        Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"/users/{user.Id}", new { status = "disabled" })).StatusCode);

        Assert.True(await WithinOneSecondAsync(onB, "/customers", HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task A_deleted_user_loses_access_on_another_instance_within_one_second()
    {
        var (user, onB) = await SignedInOnBAsync("member");
        var owner = await OwnerOnAAsync();

        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"/users/{user.Id}")).StatusCode);

        Assert.True(await WithinOneSecondAsync(onB, "/features", HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task A_demoted_admin_loses_the_audit_trail_on_another_instance_within_one_second_and_keeps_reading()
    {
        var (user, onB) = await SignedInOnBAsync("admin");
        Assert.Equal(HttpStatusCode.OK, (await onB.GetAsync("/audit-events")).StatusCode);
        var owner = await OwnerOnAAsync();

        Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"/users/{user.Id}", new { role = "viewer" })).StatusCode);

        Assert.True(await WithinOneSecondAsync(onB, "/audit-events", HttpStatusCode.Forbidden));
        Assert.Equal(HttpStatusCode.OK, (await onB.GetAsync("/customers")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await onB.DeleteAsync($"/customers/{Guid.CreateVersion7()}")).StatusCode);
    }

    [Fact]
    public async Task A_logged_out_session_loses_access_on_another_instance_within_one_second_and_the_other_session_stays()
    {
        var user = await Fixture.CreateUserAsync(Alpha, "member");
        var first = await Fixture.Factory.LoginAsync(Alpha, user.Email, user.Password);
        var other = await Fixture.Factory.LoginAsync(Alpha, user.Email, user.Password);
        var firstOnB = second.Factory.TenantClient(Alpha).WithBearer(first.AccessToken);
        var otherOnB = second.Factory.TenantClient(Alpha).WithBearer(other.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await firstOnB.GetAsync("/customers")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await otherOnB.GetAsync("/customers")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent,
            (await Fixture.Factory.TenantClient(Alpha).PostAsJsonAsync("/auth/logout", new { refreshToken = first.RefreshToken })).StatusCode);

        Assert.True(await WithinOneSecondAsync(firstOnB, "/customers", HttpStatusCode.Unauthorized));
        Assert.Equal(HttpStatusCode.OK, (await otherOnB.GetAsync("/customers")).StatusCode);
        // On the instance that logged out, at once.
        Assert.Equal(HttpStatusCode.Unauthorized, (await Fixture.Factory.TenantClient(Alpha).WithBearer(first.AccessToken).GetAsync("/customers")).StatusCode);
    }

    [Fact]
    public async Task A_new_password_ends_every_session_of_the_user_on_another_instance_within_one_second()
    {
        var (user, onB) = await SignedInOnBAsync("member");
        var owner = await OwnerOnAAsync();

        Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"/users/{user.Id}", new { password = "a-brand-new-password-123" })).StatusCode);

        Assert.True(await WithinOneSecondAsync(onB, "/me", HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task A_change_whose_notification_is_lost_is_caught_by_the_poll_within_one_second()
    {
        var (user, onB) = await SignedInOnBAsync("member");

        // Behind every trigger's back (no notification), but with the tenant's change counter moved, as a notification
        // lost on its way would leave it.
        var schema = TenantIdentifier.SchemaNameOf(Alpha);
        await using (var connection = new NpgsqlConnection(Fixture.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                $"""
                 SET session_replication_role = replica;
                 UPDATE "{schema}".users SET status = 'disabled' WHERE id = '{user.Id}';
                 UPDATE "{schema}".access_state SET version = version + 1;
                 RESET session_replication_role;
                 """, connection);
            await command.ExecuteNonQueryAsync();
        }

        Assert.True(await WithinOneSecondAsync(onB, "/customers", HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task After_its_listening_connection_dies_an_instance_reconnects_and_still_follows_changes()
    {
        var hub = second.Hub;
        var connections = hub.Connections;
        await using (var connection = new NpgsqlConnection(Fixture.ConnectionString))
        {
            await connection.OpenAsync();
            await using var kill = new NpgsqlCommand("SELECT pg_terminate_backend($1)", connection);
            kill.Parameters.AddWithValue(hub.ProcessId);
            await kill.ExecuteNonQueryAsync();
        }

        await SecondHostFixture.ListeningAsync(second.Factory, connections + 1);
        var (user, onB) = await SignedInOnBAsync("member");
        var owner = await OwnerOnAAsync();

        Assert.Equal(HttpStatusCode.OK, (await owner.PatchAsJsonAsync($"/users/{user.Id}", new { status = "disabled" })).StatusCode);

        Assert.True(await WithinOneSecondAsync(onB, "/customers", HttpStatusCode.Unauthorized));
    }

    /// <summary>A fresh user of the role, signed in, with a client on instance B that has the user cached (one 200 seen).</summary>
    private async Task<(TestUser User, HttpClient OnB)> SignedInOnBAsync(string role)
    {
        var user = await Fixture.CreateUserAsync(Alpha, role);
        var tokens = await Fixture.Factory.LoginAsync(Alpha, user.Email, user.Password);
        var onB = second.Factory.TenantClient(Alpha).WithBearer(tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await onB.GetAsync("/customers")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await onB.GetAsync("/customers")).StatusCode); // from B's cache
        Assert.True(second.Factory.Services.GetRequiredService<CurrentUsers>().Count > 0, "B caches the user's state");
        return (user, onB);
    }

    private async Task<HttpClient> OwnerOnAAsync()
    {
        var owner = Fixture.Factory.TenantClient(Alpha);
        await owner.AuthorizeAsOwnerAsync(Fixture, Alpha);
        return owner;
    }

    /// <summary>Asks until the answer is <paramref name="expected"/>, for one second from now (the change's answer has arrived).</summary>
    private static async Task<bool> WithinOneSecondAsync(HttpClient client, string path, HttpStatusCode expected)
    {
        var until = DateTime.UtcNow + OneSecond;
        do
        {
            if ((await client.GetAsync(path)).StatusCode == expected)
            {
                return true;
            }

            await Task.Delay(25);
        }
        while (DateTime.UtcNow < until);
        return false;
    }
}
