using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Auditing.Retention;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;

namespace Monolith.Cli;

/// <summary>
/// <c>retention run [--tenant ID] [--dry-run]</c>: the retention policy now, printing per tenant and task what was
/// removed (or, with --dry-run, what would be). Exit 0 when every tenant was done, 1 when one failed or was busy
/// (another run held it; the others still ran), 2 for a malformed identifier.
/// </summary>
internal static class RetentionCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr, Func<Func<IServiceProvider, Task<int>>, Task<int>> run)
    {
        var tenant = new Option<string?>("--tenant") { Description = "Only this tenant (the global part, such as whole log partitions, is skipped)." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Count what would be removed; remove nothing." };
        var command = new Command("run", "Apply the retention policy now and print what was removed.") { tenant, dryRun };
        command.SetAction((result, ct) => run(sp => RunAsync(sp, result.GetValue(tenant), result.GetValue(dryRun), stdout, stderr, ct)));
        return new Command("retention", "Retention of audit records and logs.") { command };
    }

    private static async Task<int> RunAsync(IServiceProvider services, string? identifier, bool dryRun, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var runner = services.GetRequiredService<RetentionRunner>();
        var directory = services.GetRequiredService<ITenantDirectory>();
        IReadOnlyList<TenantInfo> tenants;
        if (identifier is not null)
        {
            if (!TenantIdentifier.IsValid(identifier))
            {
                await stderr.WriteLineAsync($"--tenant must be a tenant identifier; '{identifier}' is not one.");
                return CliApp.InvalidUsage;
            }

            var found = await directory.FindAsync(identifier, ct);
            if (found is null || found.Status is not (TenantStatus.Active or TenantStatus.Suspended))
            {
                await stderr.WriteLineAsync("No tenant with that identifier exists.");
                return CliApp.Failure;
            }

            tenants = [found];
        }
        else
        {
            tenants = await directory.ListLiveAsync(ct);
        }

        var verb = dryRun ? "would remove" : "removed";
        var failures = 0;
        if (identifier is null)
        {
            failures += await ReportAsync(() => runner.RunGlobalAsync(dryRun, RetentionSources.Cli, null, ct), "*", verb, stdout, stderr);
        }

        foreach (var t in tenants)
        {
            failures += await ReportAsync(() => runner.RunTenantAsync(t, dryRun, RetentionSources.Cli, null, ct), t.Identifier, verb, stdout, stderr);
        }

        await stdout.WriteLineAsync($"{tenants.Count} tenant(s){(dryRun ? " (dry run, nothing removed)" : string.Empty)}, {failures} failed.");
        return failures == 0 ? CliApp.Success : CliApp.Failure;
    }

    private static async Task<int> ReportAsync(Func<Task<RetentionRunResult>> run, string label, string verb, TextWriter stdout, TextWriter stderr)
    {
        RetentionRunResult result;
        try
        {
            result = await run();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await stderr.WriteLineAsync($"{label}: retention failed ({(e is Npgsql.NpgsqlException ? "database error" : e.GetType().Name)}); run it again to continue.");
            return 1;
        }

        if (result.Status == RetentionRunStatus.Skipped)
        {
            await stderr.WriteLineAsync($"{label}: skipped, another retention run is working on it.");
            return 1;
        }

        foreach (var outcome in result.Outcomes)
        {
            await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{label}: {outcome.Task}: {verb} {outcome.Removed} (older than {outcome.Cutoff:yyyy-MM-ddTHH:mm:ssZ})"));
        }

        return 0;
    }
}
