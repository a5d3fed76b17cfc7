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
    private static readonly Lazy<Task<TestDatabase>> SharedInstance = new(CreateAsync);

    private TestDatabase(string serverConnectionString, string connectionString, string source)
    {
        ServerConnectionString = serverConnectionString;
        ConnectionString = connectionString;
        Source = source;
    }

    public static Task<TestDatabase> Shared => SharedInstance.Value;

    /// <summary>The superuser connection to this run's own database.</summary>
    public string ConnectionString { get; }

    public string ServerConnectionString { get; }

    public string Source { get; }

    /// <summary>A further empty database on the same server (for tests that need a database of their own).</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 63)];
        await using var connection = new NpgsqlConnection(ServerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = name }.ConnectionString;
    }

    private static async Task<TestDatabase> CreateAsync()
    {
        var (server, source) = await StartServerAsync();
        var probe = new TestDatabase(server, server, source);
        var connectionString = await probe.CreateDatabaseAsync("monolith_test");
        return new TestDatabase(server, connectionString, source);
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
