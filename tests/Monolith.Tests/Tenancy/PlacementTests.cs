using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Access.Mail;
using Monolith.Auditing.Trail;
using Monolith.Tenancy;
using Monolith.Tenancy.Backups;
using Monolith.Tenancy.Bounds;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Placement;
using Monolith.Tenancy.Resolution;
using Monolith.Tests.Toggles;
using Monolith.Toggles.Schedules;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// Two throwaway PostgreSQL clusters of their own (tenant roles are per cluster, so not the run's shared one): the
/// catalog's server ("main") and a second one added to the placement map through the platform API (issue 16,
/// docs/adr/0066).
/// </summary>
public sealed class TwoServersFixture : IAsyncLifetime
{
    private TestDatabase.PrivateCluster first = null!;

    public TestConnections Catalog => first.Connections;

    public TestDatabase.PrivateCluster Second { get; private set; } = null!;

    public MonolithFactory Factory { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var clusters = await Task.WhenAll(TestDatabase.StartPrivateClusterAsync(durable: false), TestDatabase.StartPrivateClusterAsync(durable: false));
        (first, Second) = (clusters[0], clusters[1]);
        Factory = new MonolithFactory(Catalog, new Dictionary<string, string?> { ["Tenancy:MoveGraceSeconds"] = "1" });
        using var platform = Factory.PlatformClient();
        var added = await platform.PostAsJsonAsync("/platform/servers",
            new { name = "second", requestConnection = Second.Connections.App, ownerConnection = Second.Connections.Owner, capacity = 1000 });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
    }

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        Second.Dispose();
        first.Dispose();
    }

    /// <summary>Sets a server's capacity and status through the platform API.</summary>
    public async Task SetServerAsync(string name, int capacity, string status)
    {
        using var platform = Factory.PlatformClient();
        var response = await platform.PatchAsJsonAsync($"/platform/servers/{name}", new { capacity, status });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>Provisions a tenant on <paramref name="server"/>: every other server is made to have no room first.</summary>
    public async Task<JsonElement> ProvisionOnAsync(string server, string identifier)
    {
        await SetServerAsync("main", server == "main" ? 100_000 : 0, "active");
        await SetServerAsync("second", server == "second" ? 100_000 : 0, "active");
        using var platform = Factory.PlatformClient();
        var created = await platform.PostAsJsonAsync("/platform/tenants",
            new { identifier, name = identifier, ownerEmail = MonolithFixture.OwnerEmail(identifier), ownerPassword = MonolithFixture.OwnerPassword });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await SetServerAsync("main", 100_000, "active");
        await SetServerAsync("second", 1000, "active");
        return await platform.GetFromJsonAsync<JsonElement>($"/platform/tenants/{identifier}");
    }

    public async Task<HttpClient> OwnerClientAsync(string identifier)
    {
        var client = Factory.TenantClient(identifier);
        var tokens = await Factory.LoginAsync(identifier, MonolithFixture.OwnerEmail(identifier), MonolithFixture.OwnerPassword);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        return client;
    }

    public static async Task<T?> ScalarAsync<T>(string connectionString, string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        return await command.ExecuteScalarAsync() is T value ? value : default;
    }

    public static Task<bool> SchemaExistsAsync(string connectionString, string identifier) =>
        ScalarAsync<bool>(connectionString, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", identifier.Replace('-', '_'));
}

[Trait("Category", Categories.Integration)]
public sealed class PlacementTests(TwoServersFixture servers) : IClassFixture<TwoServersFixture>
{
    [Fact]
    public async Task Servers_are_listed_without_their_passwords_and_bad_ones_are_refused_with_nothing_added()
    {
        using var platform = servers.Factory.PlatformClient();
        var listed = await platform.GetStringAsync("/platform/servers");
        Assert.Contains("\"second\"", listed, StringComparison.Ordinal);
        Assert.Contains("\"main\"", listed, StringComparison.Ordinal);
        Assert.DoesNotContain(new NpgsqlConnectionStringBuilder(servers.Second.Connections.App).Password!, listed, StringComparison.Ordinal);
        Assert.DoesNotContain("password", listed, StringComparison.OrdinalIgnoreCase);

        var app = servers.Second.Connections.App;
        var owner = servers.Second.Connections.Owner;
        (object Body, HttpStatusCode Status, string Mentions)[] refused =
        [
            (new { name = "Bad_Name", requestConnection = app, ownerConnection = owner, capacity = 10 }, HttpStatusCode.BadRequest, "name"),
            (new { name = "third", requestConnection = app, ownerConnection = owner }, HttpStatusCode.BadRequest, "capacity"),
            (new { name = "third", requestConnection = "Host=;;", ownerConnection = owner, capacity = 10 }, HttpStatusCode.BadRequest, "requestConnection"),
            (new { name = "third", requestConnection = servers.Catalog.App, ownerConnection = servers.Catalog.Owner, capacity = 10 }, HttpStatusCode.BadRequest, "cluster"),
            (new { name = "third", requestConnection = servers.Second.Connections.Superuser, ownerConnection = owner, capacity = 10 }, HttpStatusCode.BadRequest, "'second'"),
            (new { name = "second", requestConnection = app, ownerConnection = owner, capacity = 10 }, HttpStatusCode.Conflict, "already"),
            (new { name = "main", requestConnection = app, ownerConnection = owner, capacity = 10 }, HttpStatusCode.Conflict, "catalog"),
        ];
        foreach (var (body, status, mentions) in refused)
        {
            var response = await platform.PostAsJsonAsync("/platform/servers", body);
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(mentions, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var servers2 = await platform.GetFromJsonAsync<JsonElement>("/platform/servers");
        Assert.Equal(["main", "second"], servers2.EnumerateArray().Select(s => s.GetProperty("name").GetString()!).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(HttpStatusCode.BadRequest,
            (await platform.PatchAsJsonAsync("/platform/servers/second", new { status = "gone" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound,
            (await platform.PatchAsJsonAsync("/platform/servers/nowhere", new { capacity = 1 })).StatusCode);
    }

    [Fact]
    public async Task A_servers_rotated_passwords_take_over_on_every_host_without_a_restart_and_refused_strings_change_nothing()
    {
        var far = MonolithFixture.UniqueIdentifier("rotate");
        await servers.ProvisionOnAsync("second", far);
        using var client = await servers.OwnerClientAsync(far);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/customers")).StatusCode);
        await using var otherHost = new MonolithFactory(servers.Catalog);
        using var otherClient = otherHost.TenantClient(far);
        otherClient.DefaultRequestHeaders.Authorization = client.DefaultRequestHeaders.Authorization;
        Assert.Equal(HttpStatusCode.OK, (await otherClient.GetAsync("/customers")).StatusCode);

        using var platform = servers.Factory.PlatformClient();
        var superuser = servers.Second.Connections.Superuser;
        var (app, owner) = (new NpgsqlConnectionStringBuilder(servers.Second.Connections.App), new NpgsqlConnectionStringBuilder(servers.Second.Connections.Owner));
        var (oldApp, oldOwner) = (app.ConnectionString, owner.ConnectionString);
        var versionSql = "SELECT connection_version FROM platform.servers WHERE name = 'second'";
        var versionBefore = await TwoServersFixture.ScalarAsync<long>(servers.Catalog.Superuser, versionSql);
        var logins = await TwoServersFixture.ScalarAsync<string[]>(superuser, "SELECT coalesce(array_agg(role_name::text), '{}') FROM platform.request_logins") ?? [];
        try
        {
            // The passwords change in PostgreSQL (the request role's with its sub-pools' logins, as build/sql/roles.sql does),
            // and every session of those roles ends: the pools must log in again.
            await servers.Second.RequirePasswordsAsync();
            await TwoServersFixture.ScalarAsync<object>(superuser, $"ALTER ROLE \"{app.Username}\" PASSWORD 'rotated-app-1'");
            await TwoServersFixture.ScalarAsync<object>(superuser, $"ALTER ROLE \"{owner.Username}\" PASSWORD 'rotated-owner-1'");
            Assert.NotEmpty(logins);
            foreach (var login in logins)
            {
                await TwoServersFixture.ScalarAsync<object>(superuser, $"ALTER ROLE \"{login}\" PASSWORD 'rotated-app-1'");
            }

            await TwoServersFixture.ScalarAsync<object>(superuser, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY($1)",
                (object)logins.Append(app.Username!).Append(owner.Username!).ToArray());
            var catalogRequestBackends = "SELECT count(*) FROM pg_stat_activity WHERE usename = $1";
            var catalogRole = new NpgsqlConnectionStringBuilder(servers.Catalog.App).Username!;
            var before = await TwoServersFixture.ScalarAsync<long>(servers.Catalog.Superuser, catalogRequestBackends, catalogRole);
            Assert.True(before > 0, "the catalog server has request backends in the pools");
            var unavailable = await client.GetAsync("/customers");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, unavailable.StatusCode);
            Assert.Contains("database-unavailable", await unavailable.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            // Only the failing server's pools are emptied: the catalog server's backends stay for its own tenants.
            await Task.Delay(200);
            Assert.True(await TwoServersFixture.ScalarAsync<long>(servers.Catalog.Superuser, catalogRequestBackends, catalogRole) >= before,
                "the catalog server's pools were emptied by another server's failure");

            var newApp = new NpgsqlConnectionStringBuilder(oldApp) { Password = "rotated-app-1" }.ConnectionString;
            var newOwner = new NpgsqlConnectionStringBuilder(oldOwner) { Password = "rotated-owner-1" }.ConnectionString;
            (string Server, object Body, HttpStatusCode Status, string Mentions)[] refused =
            [
                ("second", new { requestConnection = oldApp, ownerConnection = newOwner }, HttpStatusCode.BadRequest, "request role could not log in with it: PostgresException 28P01"),
                ("second", new { requestConnection = newApp, ownerConnection = oldOwner }, HttpStatusCode.BadRequest, "owner role could not log in with it: PostgresException 28P01"),
                ("second", new { requestConnection = new NpgsqlConnectionStringBuilder(newApp) { Port = app.Port + 1 }.ConnectionString }, HttpStatusCode.BadRequest, "another cluster"),
                ("second", new { requestConnection = new NpgsqlConnectionStringBuilder(newApp) { Username = owner.Username }.ConnectionString }, HttpStatusCode.BadRequest, "same role"),
                ("second", new { requestConnection = "Host=;;" }, HttpStatusCode.BadRequest, "requestConnection"),
                ("main", new { requestConnection = newApp }, HttpStatusCode.BadRequest, "configuration"),
                ("nowhere", new { requestConnection = newApp }, HttpStatusCode.NotFound, "No server"),
            ];
            foreach (var (server, body, status, mentions) in refused)
            {
                var response = await platform.PatchAsJsonAsync($"/platform/servers/{server}", body);
                Assert.Equal(status, response.StatusCode);
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                var problem = await response.Content.ReadAsStringAsync();
                Assert.Contains(mentions, problem, StringComparison.Ordinal);
                Assert.DoesNotContain("rotated-", problem, StringComparison.Ordinal);
            }

            Assert.Equal(versionBefore, await TwoServersFixture.ScalarAsync<long>(servers.Catalog.Superuser, versionSql));

            var changed = await platform.PatchAsJsonAsync("/platform/servers/second", new { requestConnection = newApp, ownerConnection = newOwner });
            Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
            Assert.DoesNotContain("rotated-", await changed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(versionBefore + 1, await TwoServersFixture.ScalarAsync<long>(servers.Catalog.Superuser, versionSql));

            // Both hosts make new pools, the one that made the change and the other, told by the notification.
            await WaitUntilAsync(async () => (await client.GetAsync("/customers")).StatusCode == HttpStatusCode.OK);
            await WaitUntilAsync(async () => (await otherClient.GetAsync("/customers")).StatusCode == HttpStatusCode.OK);
            // Each host's listener on that server, ended with the other sessions, connects again with the new strings.
            await WaitUntilAsync(async () => await TwoServersFixture.ScalarAsync<long>(superuser,
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'monolith-listen' AND usename = $1", owner.Username!) >= 2);
            Assert.Equal(HttpStatusCode.Created, (await otherClient.PostAsJsonAsync("/customers", new { name = "After rotation", email = "after@rotation.test", projects = new[] { new { name = "P" } } })).StatusCode);

            var trail = await platform.GetStringAsync("/platform/audit-events?action=server.update&limit=50");
            Assert.Contains("server second: request connection string replaced, owner connection string replaced", trail, StringComparison.Ordinal);
            Assert.DoesNotContain("rotated-", trail, StringComparison.Ordinal);
        }
        finally
        {
            await TwoServersFixture.ScalarAsync<object>(superuser, $"ALTER ROLE \"{app.Username}\" PASSWORD '{app.Password}'");
            await TwoServersFixture.ScalarAsync<object>(superuser, $"ALTER ROLE \"{owner.Username}\" PASSWORD '{owner.Password}'");
            Assert.Equal(HttpStatusCode.OK,
                (await platform.PatchAsJsonAsync("/platform/servers/second", new { requestConnection = oldApp, ownerConnection = oldOwner })).StatusCode);
            // The change gave the sub-pools' logins the request role's password again (docs/adr/0073): the old one works, the
            // rotated one no longer does.
            foreach (var login in logins)
            {
                await TwoServersFixture.ScalarAsync<int>(new NpgsqlConnectionStringBuilder(oldApp) { Username = login, Pooling = false }.ConnectionString, "SELECT 1");
                var refused = await Assert.ThrowsAsync<PostgresException>(() => TwoServersFixture.ScalarAsync<int>(
                    new NpgsqlConnectionStringBuilder(oldApp) { Username = login, Password = "rotated-app-1", Pooling = false }.ConnectionString, "SELECT 1"));
                Assert.Equal(PostgresErrorCodes.InvalidPassword, refused.SqlState);
            }
        }
    }

    [Fact]
    public async Task A_sub_pool_login_whose_password_drifted_gets_the_request_roles_again_at_the_platform_scripts_run()
    {
        await servers.Second.RequirePasswordsAsync();
        var second = await servers.Factory.Services.GetRequiredService<TenantServers>().ForAsync("second", CancellationToken.None);
        Assert.NotEmpty(second.RequestLogins);
        var login = second.RequestLogins[0];
        var asLogin = new NpgsqlConnectionStringBuilder(servers.Second.Connections.App) { Username = login, Pooling = false }.ConnectionString;
        await TwoServersFixture.ScalarAsync<object>(servers.Second.Connections.Superuser, $"ALTER ROLE \"{login}\" PASSWORD 'drifted-away'");
        var refused = await Assert.ThrowsAsync<PostgresException>(() => TwoServersFixture.ScalarAsync<int>(asLogin, "SELECT 1"));
        Assert.Equal(PostgresErrorCodes.InvalidPassword, refused.SqlState);

        Assert.True(Monolith.Tenancy.Provisioning.TenantMigrator.MigratePlatformOn(second).Succeeded);

        Assert.Equal(1, await TwoServersFixture.ScalarAsync<int>(asLogin, "SELECT 1"));
        Assert.Null(second.RequestLoginsRefused);
    }

    [Fact]
    public async Task A_change_of_connection_strings_whose_notification_is_lost_is_caught_by_the_poll()
    {
        await using var host = new TenantServers(servers.Factory.Services.GetRequiredService<PlatformDatabase>());
        var changes = new ServerConnectionChanges(host, Microsoft.Extensions.Logging.Abstractions.NullLogger<ServerConnectionChanges>.Instance);
        var before = await host.ForAsync("second", CancellationToken.None);
        var version = host.LoadedVersions["second"];
        var stored = await TwoServersFixture.ScalarAsync<string>(servers.Catalog.Superuser, "SELECT request_connection FROM platform.servers WHERE name = 'second'");
        try
        {

        // The same strings written again change nothing; a changed option is a change (the trigger of platform script 0086).
        await TwoServersFixture.ScalarAsync<object>(servers.Catalog.Superuser, "UPDATE platform.servers SET capacity = capacity WHERE name = 'second'");
            await using (var connection = new NpgsqlConnection(servers.Catalog.Owner))
            {
                await connection.OpenAsync();
                await changes.PollAsync(TenantServers.Catalog, connection, CancellationToken.None);
                Assert.Same(before, await host.ForAsync("second", CancellationToken.None));

                await TwoServersFixture.ScalarAsync<object>(servers.Catalog.Superuser,
                    "UPDATE platform.servers SET request_connection = request_connection || ';Application Name=rotated' WHERE name = 'second'");
                await changes.PollAsync(TenantServers.Catalog, connection, CancellationToken.None);
            }

            var after = await host.ForAsync("second", CancellationToken.None);
            Assert.NotSame(before, after);
            Assert.Equal(version + 1, host.LoadedVersions["second"]);
            Assert.Contains("Application Name=rotated", after.RequestConnectionString, StringComparison.OrdinalIgnoreCase);
            await using (var opened = await before.OpenConnectionAsync())
            {
                // The replaced pools still serve what was already on its way.
                Assert.Equal(System.Data.ConnectionState.Open, opened.State);
            }
        }
        finally
        {
            await TwoServersFixture.ScalarAsync<object>(servers.Catalog.Superuser, "UPDATE platform.servers SET request_connection = $1 WHERE name = 'second'", stored!);
        }
    }

    [Fact]
    public async Task New_tenants_go_to_the_server_with_the_most_room_and_each_request_reaches_its_own_server()
    {
        var far = MonolithFixture.UniqueIdentifier("far");
        var near = MonolithFixture.UniqueIdentifier("near");
        Assert.Equal("second", (await servers.ProvisionOnAsync("second", far)).GetProperty("server").GetString());
        Assert.Equal("main", (await servers.ProvisionOnAsync("main", near)).GetProperty("server").GetString());

        Assert.True(await TwoServersFixture.SchemaExistsAsync(servers.Second.Connections.Superuser, far));
        Assert.False(await TwoServersFixture.SchemaExistsAsync(servers.Catalog.Superuser, far));
        Assert.True(await TwoServersFixture.SchemaExistsAsync(servers.Catalog.Superuser, near));
        Assert.False(await TwoServersFixture.SchemaExistsAsync(servers.Second.Connections.Superuser, near));

        foreach (var (tenant, home) in new[] { (far, servers.Second.Connections.Superuser), (near, servers.Catalog.Superuser) })
        {
            using var client = await servers.OwnerClientAsync(tenant);
            var created = await client.PostAsJsonAsync("/customers", new { name = "Placed", email = $"placed@{tenant}.test", projects = new[] { new { name = "P" } } });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var page = await client.GetFromJsonAsync<JsonElement>("/customers");
            Assert.Single(page.GetProperty("items").EnumerateArray());
            Assert.Equal(1L, await TwoServersFixture.ScalarAsync<long>(home,
                $"SELECT count(*) FROM \"{tenant.Replace('-', '_')}\".customers WHERE email = $1", $"placed@{tenant}.test"));
            var verified = await client.GetFromJsonAsync<JsonElement>("/audit-events/verify");
            Assert.True(verified.GetProperty("valid").GetBoolean());
        }

        // A token of one is refused by the other, wherever each lives.
        using var crossing = await servers.OwnerClientAsync(far);
        crossing.DefaultRequestHeaders.Remove("X-Tenant");
        crossing.DefaultRequestHeaders.Add("X-Tenant", near);
        Assert.Equal(HttpStatusCode.Unauthorized, (await crossing.GetAsync("/customers")).StatusCode);

        // The tenant on the second server is backed up from there, and its copy of the catalog row is there for its trail.
        var backup = await servers.Factory.Services.GetRequiredService<TenantBackups>().BackUpNowAsync(far, TenantBackups.RequestedReason, CancellationToken.None);
        Assert.Equal("completed", backup!.Status);
        Assert.Equal(1L, await TwoServersFixture.ScalarAsync<long>(servers.Second.Connections.Superuser,
            "SELECT count(*) FROM platform.tenants WHERE identifier = $1 AND status = 'active'", far));

        // Suspending reaches the copy too; the request is refused like any suspended tenant's.
        using var signedIn = await servers.OwnerClientAsync(far);
        using var platform = servers.Factory.PlatformClient();
        Assert.Equal(HttpStatusCode.OK, (await platform.PostAsync($"/platform/tenants/{far}/suspend", null)).StatusCode);
        Assert.Equal("suspended", await TwoServersFixture.ScalarAsync<string>(servers.Second.Connections.Superuser,
            "SELECT status FROM platform.tenants WHERE identifier = $1", far));
        Assert.Equal(HttpStatusCode.Forbidden, (await signedIn.GetAsync("/customers")).StatusCode);

        // Purged from its own server, copy and all.
        Assert.Equal(HttpStatusCode.NoContent, (await platform.DeleteAsync($"/platform/tenants/{far}?purge=true&archive=false")).StatusCode);
        Assert.False(await TwoServersFixture.SchemaExistsAsync(servers.Second.Connections.Superuser, far));
        Assert.Equal(0L, await TwoServersFixture.ScalarAsync<long>(servers.Second.Connections.Superuser,
            "SELECT count(*) FROM platform.tenants WHERE identifier = $1", far));
    }

    [Fact]
    public async Task The_jobs_that_visit_every_tenant_reach_the_tenants_on_each_server()
    {
        var far = MonolithFixture.UniqueIdentifier("jobs");
        await servers.ProvisionOnAsync("second", far);
        using var admin = await servers.OwnerClientAsync(far);
        await admin.DefineAsync("launch", false);
        var scheduled = await admin.PostAsJsonAsync("/features/launch/schedule", new { at = DateTimeOffset.UtcNow.AddSeconds(1), enabled = true });
        Assert.Equal(HttpStatusCode.Created, scheduled.StatusCode);
        Assert.Equal(1L, await TwoServersFixture.ScalarAsync<long>(servers.Second.Connections.Superuser,
            "SELECT count(*) FROM platform.toggle_schedule_due d JOIN platform.tenants t ON t.id = d.tenant_id WHERE t.identifier = $1", far));

        var scheduler = servers.Factory.Services.GetRequiredService<ToggleScheduler>();
        await WaitUntilAsync(async () => await scheduler.RunOnceAsync(CancellationToken.None) >= 1);
        Assert.True((await admin.GetFromJsonAsync<JsonElement>("/features/launch")).GetProperty("enabled").GetBoolean());

        await servers.Factory.Services.GetRequiredService<AuditAnchoring>().AnchorAllAsync(CancellationToken.None);
        var head = await TwoServersFixture.ScalarAsync<long>(servers.Second.Connections.Superuser,
            $"SELECT seq FROM \"{far.Replace('-', '_')}\".audit_chain_head");
        Assert.Equal(head, await TwoServersFixture.ScalarAsync<long>(servers.Second.Connections.Superuser,
            "SELECT a.seq FROM platform.audit_anchors a JOIN platform.tenants t ON t.id = a.tenant_id WHERE t.identifier = $1", far));
    }

    /// <summary>
    /// The catalog's server lists every tenant, wherever it is placed. An anchoring pass there visits only those placed
    /// on it: a tenant that moved away is not anchored from its old copy during the move's grace window, and tenants
    /// elsewhere cost the pass nothing. The other server's pass visits its own tenants.
    /// </summary>
    [Fact]
    public async Task An_anchoring_pass_on_each_server_visits_only_the_tenants_that_server_holds()
    {
        await servers.ProvisionOnAsync("second", MonolithFixture.UniqueIdentifier("anchor-far"));
        await servers.ProvisionOnAsync("main", MonolithFixture.UniqueIdentifier("anchor-near"));
        const string live = "SELECT count(*) FROM platform.tenants WHERE status IN ('active', 'suspended')";
        var placedElsewhere = await TwoServersFixture.ScalarAsync<long>(servers.Catalog.Superuser, live + " AND server <> 'main'");
        var onMain = await TwoServersFixture.ScalarAsync<long>(servers.Catalog.Superuser, live + " AND server = 'main'");
        var onSecond = await TwoServersFixture.ScalarAsync<long>(servers.Second.Connections.Superuser, live);
        Assert.True(placedElsewhere >= 1 && onMain >= 1 && onSecond >= 1, $"{placedElsewhere} elsewhere, {onMain} on main, {onSecond} on second");

        const string pass = "SELECT visited FROM monolith.audit_anchor_batch(NULL, 100000, $1)";
        Assert.Equal(onMain, await TwoServersFixture.ScalarAsync<int>(servers.Catalog.Superuser, pass, "main"));
        Assert.Equal(onSecond, await TwoServersFixture.ScalarAsync<int>(servers.Second.Connections.Superuser, pass, "second"));
    }

    [Fact]
    public async Task The_mail_outbox_gauges_count_the_outboxes_on_each_server()
    {
        var far = MonolithFixture.UniqueIdentifier("gauge");
        await servers.ProvisionOnAsync("second", far);
        // Seven mails not due for an hour: no delivery takes them during the test. Queuing them names the tenant in the
        // second server's platform.mail_due (tenant script 0031's trigger), which is what the gauges read.
        await using (var second = new NpgsqlConnection(servers.Second.Connections.Superuser))
        {
            await second.OpenAsync();
            await ExecuteAsync(second, $"""
                INSERT INTO "{far.Replace('-', '_')}".mail_outbox (id, kind, recipient, subject, text_body, next_attempt_at)
                SELECT gen_random_uuid(), 'invitation', 'later' || g || '@example.test', 'Later', 'Later', now() + interval '1 hour'
                FROM generate_series(1, 7) g
                """);
        }

        var everyServer = await MailOutboxGauges.ReadAsync(servers.Factory.Services.GetRequiredService<TenantServers>(), CancellationToken.None);
        // Read after: the catalog's server can only have delivered mail meanwhile, so the difference is at least the far tenant's.
        var catalogOnly = await MailOutboxGauges.ReadAsync(servers.Factory.Services.GetRequiredService<PlatformDatabase>(), CancellationToken.None);
        Assert.True(everyServer.Mails - catalogOnly.Mails >= 7, $"{everyServer} against the catalog's own {catalogOnly}");
        Assert.True(everyServer.Tenants - catalogOnly.Tenants >= 1, $"{everyServer} against the catalog's own {catalogOnly}");
    }

    [Fact]
    public async Task A_move_under_concurrent_writes_loses_no_acknowledged_write_and_the_tenant_keeps_its_identity_users_tokens_and_trail()
    {
        var mover = MonolithFixture.UniqueIdentifier("mover");
        await servers.ProvisionOnAsync("main", mover);
        using var owner = await servers.OwnerClientAsync(mover);

        var acknowledged = new ConcurrentBag<string>();
        var answers = new ConcurrentBag<(HttpStatusCode Status, bool RetryAfter, string Body)>();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var email = $"w{w}-{i}@{mover}.test";
                var response = await owner.PostAsJsonAsync("/customers", new { name = $"w{w}-{i}", email, projects = new[] { new { name = "P" } } });
                answers.Add((response.StatusCode, response.Headers.RetryAfter is not null, await response.Content.ReadAsStringAsync()));
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    acknowledged.Add(email);
                }
            }
        })).ToArray();

        await WaitUntilAsync(() => acknowledged.Count >= 15);
        using var platform = servers.Factory.PlatformClient();
        var moved = await platform.PostAsJsonAsync($"/platform/tenants/{mover}/move", new { to = "second" });
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        var outcome = await moved.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("second", outcome.GetProperty("tenant").GetProperty("server").GetString());
        Assert.Equal("main", outcome.GetProperty("from").GetString());
        // The copy was made while the writers went on (docs/adr/0067): what they wrote meanwhile was caught up in the freeze.
        Assert.True(outcome.GetProperty("caughtUpRows").GetInt64() > 0, outcome.ToString());
        var afterMove = acknowledged.Count;
        await WaitUntilAsync(() => acknowledged.Count >= afterMove + 15);
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.All(answers, a => Assert.Contains(a.Status, new[] { HttpStatusCode.Created, HttpStatusCode.ServiceUnavailable }));
        Assert.All(answers.Where(a => a.Status == HttpStatusCode.ServiceUnavailable), a =>
        {
            Assert.True(a.RetryAfter);
            Assert.Contains("tenant-busy", a.Body, StringComparison.Ordinal);
        });

        var schema = mover.Replace('-', '_');
        await using (var target = new NpgsqlConnection(servers.Second.Connections.Superuser))
        {
            await target.OpenAsync();
            await using var command = new NpgsqlCommand($"SELECT email FROM \"{schema}\".customers", target);
            var stored = new HashSet<string>(StringComparer.Ordinal);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                stored.Add(reader.GetString(0));
            }

            Assert.DoesNotContain(acknowledged, email => !stored.Contains(email));
        }

        // The old copy is gone once the hosts have followed; the identifier, the user and the token from before still work.
        await WaitUntilAsync(async () => !await TwoServersFixture.SchemaExistsAsync(servers.Catalog.Superuser, mover));
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/customers")).StatusCode);
        using var again = await servers.OwnerClientAsync(mover);
        Assert.True((await again.GetFromJsonAsync<JsonElement>("/audit-events/verify")).GetProperty("valid").GetBoolean());
        Assert.Equal(1L, await TwoServersFixture.ScalarAsync<long>(servers.Second.Connections.Superuser,
            "SELECT count(*) FROM platform.audit_anchors a JOIN platform.tenants t ON t.id = a.tenant_id WHERE t.identifier = $1", mover));

        // And back: from a server of the map to the catalog's, leaving nothing behind there.
        var back = await platform.PostAsJsonAsync($"/platform/tenants/{mover}/move", new { to = "main" });
        Assert.Equal(HttpStatusCode.OK, back.StatusCode);
        await WaitUntilAsync(async () => !await TwoServersFixture.SchemaExistsAsync(servers.Second.Connections.Superuser, mover));
        Assert.Equal(0L, await TwoServersFixture.ScalarAsync<long>(servers.Second.Connections.Superuser,
            "SELECT count(*) FROM platform.tenants WHERE identifier = $1", mover));
        Assert.True((await again.GetFromJsonAsync<JsonElement>("/audit-events/verify")).GetProperty("valid").GetBoolean());
        Assert.Equal(acknowledged.Count + 0L, await TwoServersFixture.ScalarAsync<long>(servers.Catalog.Superuser,
            $"SELECT count(*) FROM \"{schema}\".customers"));

        var trail = await platform.GetFromJsonAsync<JsonElement>($"/platform/audit-events?tenant={mover}&action=tenant.move");
        Assert.Equal(2, trail.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task A_move_that_fails_or_is_refused_leaves_the_tenant_where_it_was_and_writable()
    {
        var stay = MonolithFixture.UniqueIdentifier("stay");
        var tenant = await servers.ProvisionOnAsync("main", stay);
        using var platform = servers.Factory.PlatformClient();

        Assert.Equal(HttpStatusCode.BadRequest, (await platform.PostAsJsonAsync($"/platform/tenants/{stay}/move", new { to = "nowhere" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await platform.PostAsJsonAsync($"/platform/tenants/{stay}/move", new { to = "main" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await platform.PostAsJsonAsync($"/platform/tenants/{stay}/move", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await platform.PostAsJsonAsync("/platform/tenants/no-such-tenant/move", new { to = "second" })).StatusCode);
        await servers.SetServerAsync("second", 1000, "draining");
        Assert.Equal(HttpStatusCode.BadRequest, (await platform.PostAsJsonAsync($"/platform/tenants/{stay}/move", new { to = "second" })).StatusCode);
        await servers.SetServerAsync("second", 1000, "active");

        // The target already has a role of that name: the copy fails there, and nothing of it stays.
        var role = tenant.GetProperty("id").GetGuid().ToString("N");
        var roleName = await TwoServersFixture.ScalarAsync<string>(servers.Catalog.Superuser,
            "SELECT role_name FROM platform.tenants WHERE identifier = $1", stay);
        Assert.Contains(role, roleName!, StringComparison.Ordinal);
        await TwoServersFixture.ScalarAsync<object>(servers.Second.Connections.Superuser, $"CREATE ROLE \"{roleName}\" NOLOGIN");
        try
        {
            var failed = await platform.PostAsJsonAsync($"/platform/tenants/{stay}/move", new { to = "second" });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
            Assert.Contains("move-failed", await failed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        finally
        {
            await TwoServersFixture.ScalarAsync<object>(servers.Second.Connections.Superuser, $"DROP ROLE \"{roleName}\"");
        }

        var after = await platform.GetFromJsonAsync<JsonElement>($"/platform/tenants/{stay}");
        Assert.Equal("main", after.GetProperty("server").GetString());
        Assert.Equal(JsonValueKind.Null, after.GetProperty("movingTo").ValueKind);
        Assert.False(await TwoServersFixture.SchemaExistsAsync(servers.Second.Connections.Superuser, stay));
        using var client = await servers.OwnerClientAsync(stay);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/customers", new { name = "Still", email = $"still@{stay}.test", projects = new[] { new { name = "P" } } })).StatusCode);
        var trail = await platform.GetFromJsonAsync<JsonElement>($"/platform/audit-events?tenant={stay}&action=tenant.move");
        Assert.All(trail.GetProperty("items").EnumerateArray(), e => Assert.Equal("failed", e.GetProperty("outcome").GetString()));
    }

    [Fact]
    public async Task A_request_that_reached_a_tenants_old_copy_answers_503_tenant_busy_and_a_tenant_that_did_not_move_keeps_its_error()
    {
        var stayed = MonolithFixture.UniqueIdentifier("old");
        await servers.ProvisionOnAsync("main", stayed);
        var tenant = (await servers.Factory.Services.GetRequiredService<TenantCatalog>().FindAsync(stayed, CancellationToken.None))!;
        var handler = ActivatorUtilities.CreateInstance<DatabaseExceptionHandler>(servers.Factory.Services);
        var revoked = new PostgresException("permission denied for table customers", "ERROR", "ERROR", PostgresErrorCodes.InsufficientPrivilege);

        // Resolved while it was on the other server (before a move that has since committed): the old copy refused it.
        var moved = new DefaultHttpContext { RequestServices = servers.Factory.Services };
        moved.Response.Body = new MemoryStream();
        TenantResolutionMiddleware.Remember(moved, tenant with { Server = "second" });
        Assert.True(await handler.TryHandleAsync(moved, new InvalidOperationException("saving", revoked), CancellationToken.None));
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, moved.Response.StatusCode);
        Assert.Equal("1", moved.Response.Headers.RetryAfter.ToString());
        moved.Response.Body.Position = 0;
        Assert.Contains("tenant-busy", await new StreamReader(moved.Response.Body).ReadToEndAsync(), StringComparison.Ordinal);

        // The same error for a tenant where it was resolved is not hidden: it is the bug it looks like (500 further on).
        var still = new DefaultHttpContext { RequestServices = servers.Factory.Services };
        TenantResolutionMiddleware.Remember(still, tenant);
        Assert.False(await handler.TryHandleAsync(still, revoked, CancellationToken.None));
    }

    /// <summary>
    /// docs/adr/0067: a copy taken at a snapshot, then inserts, updates, deletes, a key changed, a unique value freed and
    /// taken again, a parent removed with its children and a sequence advanced on the source; the catch-up makes the
    /// target equal to the source, by primary key and foreign-key order, without running the target's triggers.
    /// </summary>
    [Fact]
    public async Task The_catch_up_of_a_move_makes_the_copy_equal_to_the_source_after_every_kind_of_write_since_its_snapshot()
    {
        var schema = "catch_up_" + Guid.NewGuid().ToString("N")[..8];
        var ddl = $"""
                   CREATE SCHEMA {schema};
                   CREATE TABLE {schema}.parents (id uuid PRIMARY KEY, name text NOT NULL UNIQUE, note text);
                   CREATE TABLE {schema}.children (
                       id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                       parent_id uuid NOT NULL REFERENCES {schema}.parents (id),
                       label text NOT NULL,
                       shout text GENERATED ALWAYS AS (upper(label)) STORED);
                   CREATE TABLE {schema}.pairs (a int, b int, PRIMARY KEY (a, b));
                   CREATE TABLE {schema}.written (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, what text NOT NULL);
                   CREATE SEQUENCE {schema}.numbers;
                   CREATE FUNCTION {schema}.note_write() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN INSERT INTO {schema}.written (what) VALUES (TG_TABLE_NAME || ' ' || TG_OP); RETURN NULL; END $$;
                   """;
        var trigger = $"CREATE TRIGGER note AFTER INSERT OR UPDATE OR DELETE ON {schema}.children FOR EACH ROW EXECUTE FUNCTION {schema}.note_write()";
        await using var source = new NpgsqlConnection(servers.Catalog.Owner);
        await using var target = new NpgsqlConnection(servers.Second.Connections.Owner);
        await Task.WhenAll(source.OpenAsync(), target.OpenAsync());
        await ExecuteAsync(source, ddl + trigger);
        await ExecuteAsync(target, ddl);
        var (keep, gone, renamed) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await ExecuteAsync(source, $"""
                                    INSERT INTO {schema}.parents VALUES ('{keep}', 'keep', null), ('{gone}', 'gone', null), ('{renamed}', 'taken', null);
                                    INSERT INTO {schema}.children (parent_id, label)
                                        SELECT p, 'child ' || n FROM unnest(ARRAY['{keep}', '{gone}']::uuid[]) p, generate_series(1, 3) n;
                                    INSERT INTO {schema}.pairs VALUES (1, 1), (1, 2);
                                    SELECT nextval('{schema}.numbers');
                                    """);

        // The copy: what a repeatable-read transaction sees, loaded on the target while the source goes on writing.
        string snapshot;
        await using (var pinned = await source.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead))
        {
            snapshot = (await new NpgsqlCommand("SELECT pg_current_snapshot()::text", source, pinned).ExecuteScalarAsync() as string)!;
            await using var concurrent = new NpgsqlConnection(servers.Catalog.Owner);
            await concurrent.OpenAsync();
            await ExecuteAsync(concurrent, $"INSERT INTO {schema}.pairs VALUES (2, 2)"); // committed after the snapshot
            foreach (var table in new[] { "parents", "children", "pairs", "written" })
            {
                var columns = table == "children" ? "id, parent_id, label" : "*";
                var rows = new List<object[]>();
                await using (var reader = await new NpgsqlCommand($"SELECT {columns} FROM {schema}.{table}", source, pinned).ExecuteReaderAsync())
                {
                    while (await reader.ReadAsync())
                    {
                        var values = new object[reader.FieldCount];
                        reader.GetValues(values);
                        rows.Add(values);
                    }
                }

                foreach (var row in rows)
                {
                    var insert = new NpgsqlCommand(
                        $"INSERT INTO {schema}.{table} {(table == "children" ? "(id, parent_id, label) OVERRIDING SYSTEM VALUE " : "")}" +
                        $"VALUES ({string.Join(", ", row.Select((_, i) => $"${i + 1}"))})", target);
                    foreach (var value in row)
                    {
                        insert.Parameters.AddWithValue(value);
                    }

                    await insert.ExecuteNonQueryAsync();
                }
            }

            await pinned.CommitAsync();
        }

        await ExecuteAsync(target, $"{trigger}; SELECT setval('{schema}.numbers', 1)");
        await ExecuteAsync(source, $"""
                                    INSERT INTO {schema}.children (parent_id, label) VALUES ('{keep}', 'new');
                                    UPDATE {schema}.children SET label = 'changed' WHERE id = (SELECT min(id) FROM {schema}.children WHERE parent_id = '{keep}');
                                    DELETE FROM {schema}.children WHERE parent_id = '{gone}';
                                    DELETE FROM {schema}.parents WHERE id = '{gone}';
                                    UPDATE {schema}.parents SET name = 'renamed' WHERE id = '{renamed}';
                                    INSERT INTO {schema}.parents VALUES (gen_random_uuid(), 'taken', 'took the freed name');
                                    UPDATE {schema}.parents SET note = 'noted' WHERE id = '{keep}';
                                    UPDATE {schema}.pairs SET b = 3 WHERE a = 1 AND b = 2;
                                    SELECT nextval('{schema}.numbers'), nextval('{schema}.numbers');
                                    """);
        var writtenOnSource = await TwoServersFixture.ScalarAsync<long>(servers.Catalog.Owner, $"SELECT count(*) FROM {schema}.written");

        Monolith.Tenancy.Provisioning.CatchUpCounts counts;
        await using (var freeze = await source.BeginTransactionAsync())
        await using (var arrival = await target.BeginTransactionAsync())
        {
            counts = await Monolith.Tenancy.Provisioning.MoveCatchUp.ApplyAsync(schema, snapshot, freeze, arrival, CancellationToken.None);
            await arrival.CommitAsync();
        }

        foreach (var (table, columns) in new[] { ("parents", "id, name, note"), ("children", "id, parent_id, label, shout"), ("pairs", "a, b") })
        {
            Assert.Equal(await RowsAsync(source, $"SELECT {columns} FROM {schema}.{table} ORDER BY 1, 2"),
                await RowsAsync(target, $"SELECT {columns} FROM {schema}.{table} ORDER BY 1, 2"));
        }

        // The trigger's rows came over from the source; on the target it did not run again, and it is back on.
        Assert.Equal(writtenOnSource, await TwoServersFixture.ScalarAsync<long>(servers.Second.Connections.Owner, $"SELECT count(*) FROM {schema}.written"));
        Assert.Equal(1L, await TwoServersFixture.ScalarAsync<long>(servers.Second.Connections.Owner, $"SELECT count(*) FROM pg_trigger WHERE tgname = 'note' AND tgenabled = 'O' AND tgrelid = '{schema}.children'::regclass"));
        Assert.Equal(3L, await TwoServersFixture.ScalarAsync<long>(servers.Second.Connections.Owner, $"SELECT last_value FROM {schema}.numbers"));
        Assert.Equal(await TwoServersFixture.ScalarAsync<long>(servers.Catalog.Owner, $"SELECT max(id) FROM {schema}.children") + 1,
            await TwoServersFixture.ScalarAsync<long>(servers.Second.Connections.Owner, $"INSERT INTO {schema}.children (parent_id, label) VALUES ('{keep}', 'after') RETURNING id"));
        // Written since the snapshot: pairs (2, 2) and (1, 3), two children, three parents, five trigger rows. Gone: the
        // parent, its three children, and pairs (1, 2), whose key changed.
        Assert.Equal(new Monolith.Tenancy.Provisioning.CatchUpCounts(12, 5), counts);
        await ExecuteAsync(source, $"DROP SCHEMA {schema} CASCADE");
        await ExecuteAsync(target, $"DROP SCHEMA {schema} CASCADE");
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<string>> RowsAsync(NpgsqlConnection connection, string sql)
    {
        var rows = new List<string>();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "null" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        }

        return rows;
    }

    private static Task WaitUntilAsync(Func<bool> condition) => WaitUntilAsync(() => Task.FromResult(condition()));

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < until, "the condition did not hold within a minute");
            await Task.Delay(50);
        }
    }
}
