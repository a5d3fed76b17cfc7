using System.Diagnostics;
using System.Globalization;

namespace Monolith.Tenancy.Backups;

/// <summary>
/// The PostgreSQL client tools (pg_dump, pg_restore, psql) of the machine's PostgreSQL binaries — the same place run.sh
/// finds the server — checked against the server: a pg_dump older than the server cannot dump it.
/// </summary>
internal sealed class PostgresTools(string? configuredDirectory)
{
    public string PgDump => Find("pg_dump");

    public string PgRestore => Find("pg_restore");

    public string Psql => Find("psql");

    /// <summary>The tools' major version (15 for "pg_dump (PostgreSQL) 15.8").</summary>
    public async Task<int> MajorVersionAsync(CancellationToken ct)
    {
        var run = await RunAsync(PgDump, ["--version"], null, ct);
        var text = run.Stdout.Trim();
        var version = text[(text.LastIndexOf(' ') + 1)..];
        return int.Parse(version.Split('.')[0], CultureInfo.InvariantCulture);
    }

    private int? toolsMajorVersion;

    /// <summary>
    /// Fails with a clear message when the tools cannot handle the server (<c>server_version_num</c>). The tools' version is
    /// asked once per process (a process start each time would cost every backup for nothing).
    /// </summary>
    public async Task EnsureCompatibleAsync(int serverVersionNum, CancellationToken ct)
    {
        var tools = toolsMajorVersion ??= await MajorVersionAsync(ct);
        var server = serverVersionNum / 10000;
        if (tools < server)
        {
            throw new InvalidOperationException(
                $"pg_dump {tools} cannot back up PostgreSQL {server}: install the PostgreSQL {server} client tools (or set Backups__PgBinDirectory).");
        }
    }

    public static async Task<ToolRun> RunAsync(string tool, IReadOnlyList<string> arguments, IDictionary<string, string>? environment, CancellationToken ct)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{tool} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        try
        {
            await process.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new ToolRun(process.ExitCode, await stdout, await stderr);
    }

    private string Find(string tool)
    {
        if (configuredDirectory is { Length: > 0 })
        {
            return Path.Combine(configuredDirectory, tool);
        }

        var installed = System.IO.Directory.Exists("/usr/lib/postgresql")
            ? System.IO.Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin", tool))
                .Where(File.Exists)
                .OrderByDescending(p => int.TryParse(Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(p))), out var major) ? major : 0)
                .FirstOrDefault()
            : null;
        return installed ?? tool;
    }
}

internal sealed record ToolRun(int ExitCode, string Stdout, string Stderr);
