using System.Diagnostics;
using Npgsql;
using Testcontainers.PostgreSql;

namespace Monolith.Tests.Support;

/// <summary>
/// The PostgreSQL server of this test run, from (in order) <c>MONOLITH_TEST_DB</c>, Testcontainers when a
/// Docker engine answers, or a throwaway cluster started from the machine's PostgreSQL binaries. Each run
/// gets a database of its own on it; the throwaway cluster is stopped and removed when the run ends.
/// </summary>
public sealed class TestDatabase
{
    public const string OwnerRole = "monolith_owner";
    public const string AppRole = "monolith_app";

    private static readonly Lazy<Task<TestDatabase>> SharedInstance = new(CreateAsync);

    // One pair of role passwords per test run: the roles are the server's, shared by every database made here.
    private static readonly string OwnerPassword = "owner-" + Guid.NewGuid().ToString("N");
    private static readonly string AppPassword = "app-" + Guid.NewGuid().ToString("N");

    private TestDatabase(string serverConnectionString, TestConnections connections, string source)
    {
        ServerConnectionString = serverConnectionString;
        Connections = connections;
        Source = source;
    }

    public static Task<TestDatabase> Shared => SharedInstance.Value;

    /// <summary>This run's own database as the superuser (tests that tamper behind the API's back), the request role and the owner role.</summary>
    public TestConnections Connections { get; }

    /// <summary>The superuser connection to this run's own database.</summary>
    public string ConnectionString => Connections.Superuser;

    public string ServerConnectionString { get; }

    public string Source { get; }

    /// <summary>
    /// A further empty database on the same server (for tests that need a database of their own), owned by the owner role
    /// with the request role beside it: made by build/sql/roles.sql, as ./build/run.sh makes its own.
    /// </summary>
    public Task<TestConnections> CreateDatabaseAsync(string prefix) => CreateDatabaseAsync(ServerConnectionString, prefix);

    private static async Task<TestDatabase> CreateAsync()
    {
        var (server, source) = await StartServerAsync();
        return new TestDatabase(server, await CreateDatabaseAsync(server, "monolith_test"), source);
    }

    /// <summary>Runs <paramref name="sql"/> on a connection of its own.</summary>
    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Runs build/sql/roles.sql again for the database <paramref name="name"/> of this server, as an upgrade does.</summary>
    public Task RunRolesScriptAsync(string name) => RunRolesScriptAsync(ServerConnectionString, name);

    private static async Task<TestConnections> CreateDatabaseAsync(string server, string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 63)];
        await RunRolesScriptAsync(server, name);
        var database = new NpgsqlConnectionStringBuilder(server) { Database = name };
        return new TestConnections(
            database.ConnectionString,
            new NpgsqlConnectionStringBuilder(database.ConnectionString) { Username = AppRole, Password = AppPassword }.ConnectionString,
            new NpgsqlConnectionStringBuilder(database.ConnectionString) { Username = OwnerRole, Password = OwnerPassword }.ConnectionString);
    }

    private static async Task RunRolesScriptAsync(string server, string name)
    {
        var builder = new NpgsqlConnectionStringBuilder(server);
        var info = new ProcessStartInfo(Psql()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[]
                 {
                     "-X", "-q", "-h", builder.Host!, "-p", builder.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "-U", builder.Username!, "-d", builder.Database ?? "postgres",
                     "-v", $"owner_role={OwnerRole}", "-v", $"app_role={AppRole}", "-v", $"database={name}",
                     "-f", Path.Combine(RepositoryRoot(), "build", "sql", "roles.sql"),
                 })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["PGPASSWORD"] = builder.Password ?? string.Empty;
        info.Environment["MONOLITH_OWNER_PASSWORD"] = OwnerPassword;
        info.Environment["MONOLITH_APP_PASSWORD"] = AppPassword;
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"build/sql/roles.sql failed: {await stderr}");
        }
    }

    /// <summary>
    /// Starts a PgBouncer in transaction mode with <paramref name="poolSize"/> server connections in front of this run's
    /// database (build/pgbouncer.sh; stopped when the run ends, or by its watcher when the test process is gone) and returns the request role's connection string through it.
    /// </summary>
    public string StartPgBouncer(int poolSize)
    {
        var server = new NpgsqlConnectionStringBuilder(Connections.App);
        var directory = Path.Combine(Path.GetTempPath(), "monolith-test-pgbouncer-" + Guid.NewGuid().ToString("N")[..12]);
        var script = Path.Combine(RepositoryRoot(), "build", "pgbouncer.sh");
        var port = RunScript(script, "start", directory, server.Host!, server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), server.Database!,
            AppRole, AppPassword, poolSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)).Trim();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => RunScript(script, "stop", directory);
        return new NpgsqlConnectionStringBuilder(Connections.App)
        {
            Port = int.Parse(port, System.Globalization.CultureInfo.InvariantCulture),
            NoResetOnClose = true, // a transaction-mode pooler resets nothing; our settings are transaction-local
        }.ConnectionString;
    }

    /// <summary>
    /// A cluster of its own from the machine's binaries, with the two roles and a database, for a test that must crash and
    /// restart its server (durable) or that needs a second server (throwaway settings, as the run's own). Removed when
    /// disposed.
    /// </summary>
    public static async Task<PrivateCluster> StartPrivateClusterAsync(bool durable = true)
    {
        var directory = Path.Combine(Path.GetTempPath(), "monolith-test-pg-" + Guid.NewGuid().ToString("N")[..12]);
        string[] args = durable ? ["start", directory, "0"] : ["start", directory, "0", "--throwaway"];
        var server = RunScript(Path.Combine(RepositoryRoot(), "build", "pg-cluster.sh"), args).Trim().Split('\n')[^1];
        return new PrivateCluster(directory, await CreateDatabaseAsync(server, "monolith_crash"));
    }

    public sealed class PrivateCluster(string directory, TestConnections connections) : IDisposable
    {
        public TestConnections Connections { get; } = connections;

        /// <summary>
        /// Makes the server ask every role but the superuser for its password over TCP (a throwaway cluster trusts local
        /// connections otherwise), for a test that changes a password.
        /// </summary>
        public async Task RequirePasswordsAsync()
        {
            var hba = Path.Combine(directory, "data", "pg_hba.conf");
            var rules = "host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust\n"
                        + "host all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n";
            var current = await File.ReadAllTextAsync(hba);
            if (!current.StartsWith(rules, StringComparison.Ordinal))
            {
                await File.WriteAllTextAsync(hba, rules + current);
            }

            await using var connection = new NpgsqlConnection(Connections.Superuser);
            await connection.OpenAsync();
            await using var reload = new NpgsqlCommand("SELECT pg_reload_conf()", connection);
            await reload.ExecuteNonQueryAsync();

            // The server reads the file again when it gets to the signal: wait until a wrong password is refused.
            var wrong = new NpgsqlConnectionStringBuilder(Connections.App) { Password = "not-the-password", Pooling = false }.ConnectionString;
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await using var probe = new NpgsqlConnection(wrong);
                    await probe.OpenAsync();
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InvalidPassword)
                {
                    return;
                }

                if (attempt == 100)
                {
                    throw new InvalidOperationException("The server still trusts local connections after reloading pg_hba.conf.");
                }

                await Task.Delay(50);
            }
        }

        /// <summary>Stops the server as a crash would (immediate shutdown: no checkpoint) and starts it again.</summary>
        public void CrashAndRestart() => RunScript(Path.Combine(RepositoryRoot(), "build", "pg-cluster.sh"), "crash-restart", directory);

        public void Dispose()
        {
            RunScript(Path.Combine(RepositoryRoot(), "build", "pg-cluster.sh"), "stop", directory);
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // best effort: the directory is under the temp folder
            }
        }
    }

    private static string Psql()
    {
        var bindir = Environment.GetEnvironmentVariable("PG_BINDIR") is { Length: > 0 } configured
            ? configured
            : Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).OrderBy(d => d, StringComparer.Ordinal).LastOrDefault()
                : null;
        return bindir is not null && File.Exists(Path.Combine(bindir, "psql")) ? Path.Combine(bindir, "psql") : "psql";
    }

    private static async Task<(string ConnectionString, string Source)> StartServerAsync()
    {
        if (Environment.GetEnvironmentVariable("MONOLITH_TEST_DB") is { Length: > 0 } configured)
        {
            return (configured, "MONOLITH_TEST_DB");
        }

        if (File.Exists("/var/run/docker.sock") || Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 })
        {
            try
            {
                var container = new PostgreSqlBuilder("postgres:15").Build();
                await container.StartAsync();
                AppDomain.CurrentDomain.ProcessExit += (_, _) => container.DisposeAsync().AsTask().GetAwaiter().GetResult();
                return (container.GetConnectionString(), "Testcontainers");
            }
#pragma warning disable CA1031 // any failure to reach Docker means: use the local binaries instead
            catch (Exception)
#pragma warning restore CA1031
            {
                // No engine answered: fall through to a local cluster.
            }
        }

        return (StartLocalCluster(), "local cluster");
    }

    private static string StartLocalCluster()
    {
        var directory = Path.Combine(Path.GetTempPath(), "monolith-test-pg-" + Guid.NewGuid().ToString("N")[..12]);
        var script = Path.Combine(RepositoryRoot(), "build", "pg-cluster.sh");
        var output = RunScript(script, "start", directory, "0", "--throwaway");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            RunScript(script, "stop", directory);
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // best effort: the directory is under the temp folder
            }
        };
        return output.Trim().Split('\n')[^1];
    }

    private static string RunScript(string script, params string[] args)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEnd();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? stdout : throw new InvalidOperationException($"{script} {string.Join(' ', args)} failed: {stderr}");
    }

    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Monolith.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Monolith.sln not found above the test binaries.");
    }
}

/// <summary>One test database three ways: as the superuser, as the request role (the host's ConnectionStrings:Monolith) and as the owner role.</summary>
public sealed record TestConnections(string Superuser, string App, string Owner)
{
    /// <summary>The two connection strings the host and the CLI are configured with.</summary>
    public IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("ConnectionStrings:Monolith", App), new("ConnectionStrings:MonolithOwner", Owner)];
}
