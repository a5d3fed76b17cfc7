using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Cli;
using Monolith.Tests.Access;
using Monolith.Tests.Support;

namespace Monolith.Tests.Cli;

/// <summary>The command line as provisioning scripts use it: output, --json purity and exit codes 0, 1 and 2.</summary>
[Trait("Category", Categories.Integration)]
public sealed class CliTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task Tenants_create_with_json_writes_only_json_to_stdout_and_exits_0()
    {
        var identifier = MonolithFixture.UniqueIdentifier("cli");
        var run = await RunAsync("tenants", "create", identifier, "--name", "Cli Co", "--owner-email", "boss@cli.test", "--json");

        Assert.Equal(CliApp.Success, run.ExitCode);
        Assert.Equal(string.Empty, run.Stderr);
        var json = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(identifier, json.GetProperty("identifier").GetString());
        Assert.Equal("active", json.GetProperty("status").GetString());
        Assert.Equal("boss@cli.test", json.GetProperty("owner").GetProperty("email").GetString());
    }

    [Fact]
    public async Task Creating_a_taken_identifier_exits_1_with_one_sentence_on_stderr()
    {
        var run = await RunAsync("tenants", "create", MonolithFixture.Alpha, "--name", "Again", "--owner-email", "o@alpha.test");
        Assert.Equal(CliApp.Failure, run.ExitCode);
        Assert.Contains("taken", run.Stderr, StringComparison.Ordinal);
        Assert.Single(run.Stderr.Trim().Split('\n'));
        Assert.Equal(string.Empty, run.Stdout);
    }

    [Theory]
    [InlineData("tenants", "create", "Bad_Name", "--name", "X", "--owner-email", "o@x.test")]
    [InlineData("tenants", "create", "fine-name")]
    [InlineData("tenants", "frobnicate")]
    [InlineData("migrate", "--parallel", "0")]
    [InlineData("tenants", "list", "--status", "sleeping")]
    [InlineData("tenants", "delete", "alpha")]
    [InlineData("tenants", "move", "alpha", "--to", "nowhere")]
    [InlineData("tenants", "move", "alpha", "--to", "main")]
    [InlineData("servers", "add", "third", "--capacity", "5")]
    [InlineData("servers", "update", "main", "--status", "gone")]
    public async Task Invalid_usage_or_input_exits_2(params string[] args)
    {
        var run = await RunAsync(args);
        Assert.Equal(CliApp.InvalidUsage, run.ExitCode);
        Assert.NotEqual(string.Empty, run.Stderr.Trim());
    }

    [Fact]
    public async Task Servers_list_shows_the_catalogs_own_server_as_json_without_a_password()
    {
        var run = await RunAsync("servers", "list", "--json");
        Assert.Equal(CliApp.Success, run.ExitCode);
        var servers = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Contains(servers.EnumerateArray(), s => s.GetProperty("name").GetString() == "main" && s.GetProperty("status").GetString() == "active");
        Assert.DoesNotContain("password", run.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(CliApp.Failure, (await RunAsync("servers", "update", "nowhere", "--capacity", "3")).ExitCode);
    }

    [Fact]
    public async Task Show_list_suspend_resume_and_delete_work_on_one_tenant()
    {
        var identifier = MonolithFixture.UniqueIdentifier("ops");
        await Fixture.ProvisionAsync(identifier);

        var show = await RunAsync("tenants", "show", identifier, "--json");
        Assert.Equal(CliApp.Success, show.ExitCode);
        Assert.Equal(identifier, JsonDocument.Parse(show.Stdout).RootElement.GetProperty("identifier").GetString());

        Assert.Equal(CliApp.Success, (await RunAsync("tenants", "suspend", identifier)).ExitCode);
        var suspended = await RunAsync("tenants", "list", "--status", "suspended", "--json");
        Assert.Contains(JsonDocument.Parse(suspended.Stdout).RootElement.EnumerateArray(), t => t.GetProperty("identifier").GetString() == identifier);

        var resumed = await RunAsync("tenants", "resume", identifier);
        Assert.Equal(CliApp.Success, resumed.ExitCode);
        Assert.Contains("active", resumed.Stdout, StringComparison.Ordinal);

        var deleted = await RunAsync("tenants", "delete", identifier, "--yes", "--json");
        Assert.Equal(CliApp.Success, deleted.ExitCode);
        var deletedTenant = JsonDocument.Parse(deleted.Stdout).RootElement;
        Assert.Equal("deleted", deletedTenant.GetProperty("status").GetString());
        Assert.True(deletedTenant.GetProperty("purgeAfter").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddDays(29));
        Assert.Contains("deleted", (await RunAsync("tenants", "show", identifier)).Stdout, StringComparison.Ordinal);

        var undeleted = await RunAsync("tenants", "undelete", identifier);
        Assert.Equal(CliApp.Success, undeleted.ExitCode);
        Assert.Contains("active", undeleted.Stdout, StringComparison.Ordinal);
        Assert.Equal(CliApp.Failure, (await RunAsync("tenants", "undelete", identifier)).ExitCode); // not deleted: 409's exit code

        Assert.Equal(CliApp.InvalidUsage, (await RunAsync("tenants", "delete", identifier, "--no-archive", "--yes")).ExitCode);
        var purged = await RunAsync("tenants", "delete", identifier, "--yes", "--purge", "--no-archive");
        Assert.Equal(CliApp.Success, purged.ExitCode);
        Assert.Equal(CliApp.Failure, (await RunAsync("tenants", "show", identifier)).ExitCode);
    }

    [Fact]
    public async Task Migrate_prints_a_line_per_tenant_and_exits_0_when_all_are_current()
    {
        var run = await RunAsync("migrate", "--parallel", "2");
        Assert.Equal(CliApp.Success, run.ExitCode);
        Assert.Contains($"{MonolithFixture.Alpha}: ", run.Stdout, StringComparison.Ordinal);
        Assert.Contains($"{MonolithFixture.Beta}: ", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("0 failed", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_connection_string_the_cli_says_so_and_exits_2()
    {
        var run = await CliRunner.RunAsync([new("ConnectionStrings:Monolith", "")], "tenants", "list");
        Assert.Equal(CliApp.InvalidUsage, run.ExitCode);
        Assert.Contains("ConnectionStrings__Monolith", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backup_backups_and_restore_make_a_working_copy_whose_pending_schedules_reach_the_scheduler()
    {
        var identifier = MonolithFixture.UniqueIdentifier("clibk");
        await Fixture.ProvisionAsync(identifier);
        using var owner = Fixture.Factory.TenantClient(identifier);
        await owner.AuthorizeAsOwnerAsync(Fixture, identifier);
        Assert.True((await owner.PutAsJsonAsync("/features/night-mode", new { description = "Night", enabled = false })).IsSuccessStatusCode);
        var at = DateTimeOffset.UtcNow.AddDays(1);
        Assert.Equal(HttpStatusCode.Created, (await owner.PostAsJsonAsync("/features/night-mode/schedule", new { at, enabled = true })).StatusCode);

        var backup = await RunAsync("tenants", "backup", identifier, "--json");
        Assert.True(backup.ExitCode == CliApp.Success, backup.Stderr);
        var backupId = JsonDocument.Parse(backup.Stdout).RootElement.GetProperty("id").GetGuid();
        var listed = await RunAsync("tenants", "backups", identifier, "--json");
        Assert.Contains(JsonDocument.Parse(listed.Stdout).RootElement.EnumerateArray(), b => b.GetProperty("id").GetGuid() == backupId);

        var copy = MonolithFixture.UniqueIdentifier("clicp");
        var restored = await RunAsync("tenants", "restore", backupId.ToString(), "--as", copy, "--json");
        Assert.True(restored.ExitCode == CliApp.Success, restored.Stderr);
        // The copy's users are the backup's; the host learns of the tenant the CLI made through the catalog's notification.
        HttpResponseMessage signIn;
        var deadline = DateTime.UtcNow.AddSeconds(5);
        using var anonymous = Fixture.Factory.TenantClient(copy);
        while (true)
        {
            signIn = await anonymous.PostAsJsonAsync("/auth/token", new { email = MonolithFixture.OwnerEmail(identifier), password = MonolithFixture.OwnerPassword });
            if (signIn.StatusCode != HttpStatusCode.NotFound || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(100);
        }
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        using var copyOwner = Fixture.Factory.TenantClient(copy).WithBearer(
            (await signIn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString()!);
        Assert.Single((await copyOwner.GetFromJsonAsync<JsonElement>("/features/night-mode/schedule")).GetProperty("items").EnumerateArray());

        // The Toggles restore step ran in the CLI too: the scheduler will find the copy's pending change.
        await using var connection = new Npgsql.NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var due = new Npgsql.NpgsqlCommand(
            "SELECT d.due_at FROM platform.toggle_schedule_due d JOIN platform.tenants t ON t.id = d.tenant_id WHERE t.identifier = $1", connection);
        due.Parameters.AddWithValue(copy);
        var dueAt = (DateTime)(await due.ExecuteScalarAsync())!;
        Assert.InRange(new DateTimeOffset(dueAt, TimeSpan.Zero), at.AddSeconds(-1), at.AddSeconds(1));
    }

    private Task<CliRun> RunAsync(params string[] args) =>
        CliRunner.RunAsync([.. Fixture.Connections.Settings, new("Backups:Directory", MonolithFactory.BackupDirectory)], args);
}

public sealed record CliRun(int ExitCode, string Stdout, string Stderr);

public static class CliRunner
{
    public static async Task<CliRun> RunAsync(KeyValuePair<string, string?>[] settings, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, stdout, stderr, settings);
        return new CliRun(code, stdout.ToString(), stderr.ToString());
    }
}
