using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Monolith.Access;
using Monolith.Auditing;
using Monolith.Auditing.Logging;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;
using Monolith.Tenancy.Backups;
using Monolith.Tenancy.Bounds;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Platform;
using Monolith.Tenancy.Provisioning;
using Monolith.Toggles;
using Npgsql;

namespace Monolith.Cli;

/// <summary>
/// The command line of CONTRACT §7. Exit codes: 0 success, 1 failure, 2 invalid usage or input.
/// Errors go to stderr in one sentence; with --json, stdout carries the JSON and nothing else.
/// </summary>
public static class CliApp
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int InvalidUsage = 2;

    private static readonly JsonSerializerOptions Json = CreateJsonOptions();

    public static async Task<int> RunAsync(
        string[] args,
        TextWriter stdout,
        TextWriter stderr,
        IEnumerable<KeyValuePair<string, string?>>? settings = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var configuration = new ConfigurationBuilder()
            .AddEnvironmentVariables()
            .AddInMemoryCollection(settings ?? [])
            .Build();

        var root = BuildCommands(stdout, stderr, () => BuildServices(configuration, configureServices));
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            await stderr.WriteLineAsync(parsed.Errors[0].Message + " (see --help)");
            return InvalidUsage;
        }

        try
        {
            // Our handlers below turn exceptions into one sentence and an exit code; no stack traces for scripts to parse.
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (NpgsqlException e)
        {
            await stderr.WriteLineAsync($"The database could not be reached or refused the operation: {OneLine(e.Message)}");
            return Failure;
        }
        catch (InvalidOperationException e) when (e.Message.Contains("ConnectionStrings__", StringComparison.Ordinal))
        {
            await stderr.WriteLineAsync(e.Message);
            return InvalidUsage;
        }
        catch (ProvisioningFailedException e)
        {
            await stderr.WriteLineAsync($"{e.Message} Nothing was left behind; the command can be retried.");
            return Failure;
        }
    }

    private static ServiceProvider BuildServices(IConfiguration configuration, Action<IServiceCollection>? configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddTenancyCore(configuration);
        services.AddAuditingCore(configuration);
        services.AddAccessCore(configuration);
        services.AddTogglesCore();
        services.AddLogRetention();
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }

    private static RootCommand BuildCommands(TextWriter stdout, TextWriter stderr, Func<ServiceProvider> services)
    {
        var root = new RootCommand("Monolith: provision, migrate and operate tenants.");
        var json = new Option<bool>("--json") { Description = "Write JSON to stdout and nothing else." };

        var parallel = new Option<int>("--parallel") { Description = "Tenant schemas migrated at once.", DefaultValueFactory = _ => 4 };
        var migrate = new Command("migrate", "Apply the platform scripts, then bring every tenant schema to the newest tenant scripts.") { parallel };
        migrate.SetAction((result, ct) => Run(services, sp => MigrateAsync(sp, result.GetValue(parallel), stdout, stderr, ct)));
        root.Subcommands.Add(migrate);

        var tenants = new Command("tenants", "Create, list, show, suspend, resume and delete tenants.");
        root.Subcommands.Add(tenants);

        var identifier = new Argument<string>("IDENTIFIER") { Description = "The tenant's identifier." };
        var name = new Option<string>("--name") { Description = "Display name.", Required = true };
        var ownerEmail = new Option<string>("--owner-email") { Description = "E-mail of the first owner.", Required = true };
        var passwordStdin = new Option<bool>("--owner-password-stdin") { Description = "Read the owner's password from the first line of stdin." };
        var create = new Command("create", "Provision a tenant: schema, role, migrations and its owner.") { identifier, name, ownerEmail, passwordStdin, json };
        create.SetAction((result, ct) => Run(services, async sp =>
        {
            var password = result.GetValue(passwordStdin) ? (await Console.In.ReadLineAsync(ct))?.TrimEnd('\r', '\n') : null;
            var command = new CreateTenantCommand(result.GetValue(identifier), result.GetValue(name), result.GetValue(ownerEmail), password);
            var outcome = await sp.GetRequiredService<TenantProvisioner>().CreateAsync(command, ct);
            return await ReportAsync(sp, outcome, result.GetValue(json), stdout, stderr, created: true, ownerEmail: command.OwnerEmail);
        }));
        tenants.Subcommands.Add(create);

        var status = new Option<string?>("--status") { Description = "Only tenants in this status." };
        var list = new Command("list", "List tenants.") { status, json };
        list.SetAction((result, ct) => Run(services, sp => ListAsync(sp, result.GetValue(status), result.GetValue(json), stdout, stderr, ct)));
        tenants.Subcommands.Add(list);

        var show = new Command("show", "Show one tenant.") { identifier, json };
        show.SetAction((result, ct) => Run(services, async sp =>
        {
            var tenant = await sp.GetRequiredService<TenantCatalog>().FindAsync(result.GetValue(identifier)!, ct);
            var outcome = tenant is null ? ProvisioningResult.NotFound() : new ProvisioningResult(ProvisioningStatus.Done, tenant);
            return await ReportAsync(sp, outcome, result.GetValue(json), stdout, stderr);
        }));
        tenants.Subcommands.Add(show);

        var suspend = new Command("suspend", "Suspend a tenant: its requests answer 403 until it is resumed.") { identifier, json };
        suspend.SetAction((result, ct) => Run(services, async sp => await ReportAsync(sp,
            await sp.GetRequiredService<TenantProvisioner>().SuspendAsync(result.GetValue(identifier)!, ct), result.GetValue(json), stdout, stderr)));
        tenants.Subcommands.Add(suspend);

        var resume = new Command("resume", "Resume a suspended tenant.") { identifier, json };
        resume.SetAction((result, ct) => Run(services, async sp => await ReportAsync(sp,
            await sp.GetRequiredService<TenantProvisioner>().ResumeAsync(result.GetValue(identifier)!, ct), result.GetValue(json), stdout, stderr)));
        tenants.Subcommands.Add(resume);

        var yes = new Option<bool>("--yes") { Description = "Confirm the delete (with --purge: the schema, the role and all the tenant's data are removed)." };
        var purge = new Option<bool>("--purge") { Description = "Remove the tenant at once instead of keeping it for the grace period." };
        var noArchive = new Option<bool>("--no-archive") { Description = "With --purge: skip the final backup." };
        var delete = new Command("delete", "Delete a tenant: kept (and undeletable) for the grace period, then purged; --purge removes it at once.")
        {
            identifier, yes, purge, noArchive, json,
        };
        delete.SetAction((result, ct) => Run(services, async sp =>
        {
            if (!result.GetValue(yes))
            {
                await stderr.WriteLineAsync("Deleting a tenant takes its data out of reach (and --purge removes it); confirm with --yes.");
                return InvalidUsage;
            }

            if (result.GetValue(noArchive) && !result.GetValue(purge))
            {
                await stderr.WriteLineAsync("--no-archive only applies with --purge.");
                return InvalidUsage;
            }

            var provisioner = sp.GetRequiredService<TenantProvisioner>();
            var name = result.GetValue(identifier)!;
            if (!result.GetValue(purge))
            {
                return await ReportAsync(sp, await provisioner.DeleteAsync(name, ct), result.GetValue(json), stdout, stderr);
            }

            var outcome = await provisioner.PurgeAsync(name, archive: !result.GetValue(noArchive), ct);
            if (outcome.Status != ProvisioningStatus.Done)
            {
                return await ReportAsync(sp, outcome, false, stdout, stderr);
            }

            await stdout.WriteLineAsync(result.GetValue(json) ? $"{{\"identifier\":\"{name}\",\"status\":\"purged\"}}" : $"Purged tenant {name}.");
            return Success;
        }));
        tenants.Subcommands.Add(delete);

        var backup = new Command("backup", "Back up a tenant now (pg_dump of its schema plus its catalog entry) and wait for it.") { identifier, json };
        backup.SetAction((result, ct) => Run(services, async sp =>
        {
            var name = result.GetValue(identifier)!;
            BackupResponse? made;
            try
            {
                made = await sp.GetRequiredService<TenantBackups>().BackUpNowAsync(name, TenantBackups.RequestedReason, ct);
            }
            catch (InvalidOperationException e)
            {
                await stderr.WriteLineAsync($"Backing up {name} failed: {e.Message}");
                return Failure;
            }

            if (made is null)
            {
                await stderr.WriteLineAsync($"Tenant '{name}' does not exist or cannot be backed up now.");
                return Failure;
            }

            await stdout.WriteLineAsync(result.GetValue(json)
                ? JsonSerializer.Serialize(made, Json)
                : $"{made.Id}: {made.Status}, {made.SizeBytes} bytes, sha256 {made.Sha256}");
            return Success;
        }));
        tenants.Subcommands.Add(backup);

        var backupsList = new Command("backups", "List a tenant's backups (a purged tenant's too), newest first.") { identifier, json };
        backupsList.SetAction((result, ct) => Run(services, async sp =>
        {
            var rows = await sp.GetRequiredService<TenantBackups>().ListAsync(result.GetValue(identifier)!, null, 200, ct);
            if (result.GetValue(json))
            {
                await stdout.WriteLineAsync(JsonSerializer.Serialize(rows, Json));
                return Success;
            }

            foreach (var row in rows)
            {
                await stdout.WriteLineAsync($"{row.Id}: {row.Status} {row.CreatedAt:O} {row.SizeBytes?.ToString(CultureInfo.InvariantCulture) ?? "-"} bytes");
            }

            return Success;
        }));
        tenants.Subcommands.Add(backupsList);

        var backupId = new Argument<Guid>("backup-id") { Description = "The backup to restore (from `tenants backups`)." };
        var restoreAs = new Option<string>("--as") { Description = "The new tenant's identifier.", Required = true };
        var restore = new Command("restore", "Restore a backup into a new tenant (new schema and role, the backup's data and users) and wait for it.")
        {
            backupId, restoreAs, json,
        };
        restore.SetAction((result, ct) => Run(services, async sp =>
        {
            try
            {
                var outcome = await sp.GetRequiredService<TenantProvisioner>().RestoreAsync(
                    new RestoreTenantCommand(result.GetValue(backupId), result.GetValue(restoreAs), null), sp.GetServices<ITenantRestoreStep>(), ct);
                return await ReportAsync(sp, outcome, result.GetValue(json), stdout, stderr);
            }
            catch (ProvisioningFailedException e)
            {
                await stderr.WriteLineAsync($"{e.Message} Nothing was left behind.");
                return Failure;
            }
        }));
        tenants.Subcommands.Add(restore);

        var to = new Option<string>("--to") { Description = "The server to move the tenant to (see `servers list`).", Required = true };
        var move = new Command("move", "Move a tenant to another database server: copied while it writes, its writes pause (503 tenant-busy) only to catch up.") { identifier, to, json };
        move.SetAction((result, ct) => Run(services, async sp =>
        {
            try
            {
                var (outcome, moved) = await sp.GetRequiredService<TenantProvisioner>().MoveAsync(
                    result.GetValue(identifier)!, result.GetValue(to), sp.GetServices<ITenantMoveStep>(), ct);
                if (moved is not null && !result.GetValue(json))
                {
                    await stdout.WriteLineAsync(
                        $"Moved from {moved.From} to {moved.To}: writes frozen {moved.Frozen.TotalMilliseconds:0} ms, {moved.Total.TotalSeconds:0.0} s in all, " +
                        $"backup {moved.BackupId}; caught up {moved.CaughtUpRows} rows written and {moved.CaughtUpDeletes} deleted during the copy.");
                }

                return await ReportAsync(sp, outcome, result.GetValue(json), stdout, stderr);
            }
            catch (ProvisioningFailedException e)
            {
                await stderr.WriteLineAsync($"{e.Message} Its data is as it was; the command can be retried.");
                return Failure;
            }
        }));
        tenants.Subcommands.Add(move);

        var undelete = new Command("undelete", "Bring a deleted tenant back, with all its data, while its grace period lasts.") { identifier, json };
        undelete.SetAction((result, ct) => Run(services, async sp => await ReportAsync(sp,
            await sp.GetRequiredService<TenantProvisioner>().UndeleteAsync(result.GetValue(identifier)!, ct), result.GetValue(json), stdout, stderr)));
        tenants.Subcommands.Add(undelete);

        root.Subcommands.Add(RetentionCommand.Build(stdout, stderr, action => Run(services, action)));
        root.Subcommands.Add(ServersCommand.Build(stdout, stderr, Json, json, action => Run(services, action)));

        foreach (var extension in Extensions)
        {
            root.Subcommands.Add(extension(stdout, stderr, services));
        }

        return root;
    }

    /// <summary>Commands other modules add (for example "retention run"), given the same writers and services.</summary>
    internal static List<Func<TextWriter, TextWriter, Func<ServiceProvider>, Command>> Extensions { get; } = [];

    private static async Task<int> Run(Func<ServiceProvider> factory, Func<IServiceProvider, Task<int>> action)
    {
        await using var services = factory();
        using var operation = OperationContext.Begin(new OperationContext
        {
            RequestId = "cli-" + Guid.CreateVersion7().ToString("N"),
            ActorKind = ActorKinds.Cli,
            ActorName = "cli",
        });
        var outcome = services.GetRequiredService<TenantMigrator>().MigratePlatform();
        if (!outcome.Succeeded)
        {
            throw new InvalidOperationException($"Platform script {outcome.FailedScript} failed.", outcome.Error);
        }

        return await action(services);
    }

    private static async Task<int> MigrateAsync(IServiceProvider services, int parallelism, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (parallelism is < 1 or > 64)
        {
            await stderr.WriteLineAsync("--parallel must be from 1 to 64.");
            return InvalidUsage;
        }

        var platform = services.GetRequiredService<TenantMigrator>().LastPlatformOutcome;
        await stdout.WriteLineAsync(platform is { Applied.Count: > 0 }
            ? $"platform: migrated to {platform.Version} ({platform.Applied.Count} script(s))"
            : "platform: current");
        var migrator = services.GetRequiredService<TenantMigrator>();
        var gate = new SemaphoreSlim(1, 1);
        var results = await migrator.MigrateAllAsync(parallelism, async progress =>
        {
            var line = progress.State switch
            {
                TenantMigrationState.Migrated =>
                    $"{progress.Identifier}: migrated to {progress.Version} ({progress.Applied.Count} script(s), {progress.Elapsed.TotalMilliseconds:0} ms)",
                TenantMigrationState.Current => $"{progress.Identifier}: current ({progress.Version})",
                _ => $"{progress.Identifier}: FAILED after {progress.Attempts} attempt(s): {OneLine(progress.Error ?? "unknown error")}",
            };
            await gate.WaitAsync(ct);
            try
            {
                await stdout.WriteLineAsync(line);
            }
            finally
            {
                gate.Release();
            }
        }, ct);

        var failed = results.Count(r => r.State == TenantMigrationState.Failed);
        await stdout.WriteLineAsync(
            $"{results.Count} tenant(s): {results.Count(r => r.State == TenantMigrationState.Migrated)} migrated, " +
            $"{results.Count(r => r.State == TenantMigrationState.Current)} current, {failed} failed.");
        if (failed > 0)
        {
            await stderr.WriteLineAsync($"{failed} tenant(s) failed to migrate; the others were migrated. Run migrate again to retry them.");
            return Failure;
        }

        return Success;
    }

    private static async Task<int> ListAsync(IServiceProvider services, string? status, bool json, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (status is not null && !TenantStatus.All.Contains(status))
        {
            await stderr.WriteLineAsync($"--status must be one of: {string.Join(", ", TenantStatus.All)}.");
            return InvalidUsage;
        }

        var options = services.GetRequiredService<IOptions<TenancyOptions>>().Value;
        var catalog = services.GetRequiredService<TenantCatalog>();
        var bounds = services.GetRequiredService<TenantBounds>();
        var all = new List<TenantResponse>();
        string? after = null;
        while (true)
        {
            var page = await catalog.ListAsync(status, after, 500, ct);
            all.AddRange(page.Select(t => PlatformEndpoints.ToResponse(t, options, bounds)));
            if (page.Count < 500)
            {
                break;
            }

            after = page[^1].Identifier;
        }

        if (json)
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(all, Json));
            return Success;
        }

        foreach (var t in all)
        {
            await stdout.WriteLineAsync($"{t.Identifier,-24} {t.Status,-12} {t.SchemaVersion ?? "-",-32} {t.Name}");
        }

        return Success;
    }

    private static async Task<int> ReportAsync(
        IServiceProvider services, ProvisioningResult outcome, bool json, TextWriter stdout, TextWriter stderr, bool created = false, string? ownerEmail = null)
    {
        switch (outcome.Status)
        {
            case ProvisioningStatus.Invalid:
                var first = outcome.Errors!.First();
                await stderr.WriteLineAsync($"Invalid {first.Key}: {first.Value[0]}");
                return InvalidUsage;
            case ProvisioningStatus.NotFound:
                await stderr.WriteLineAsync(outcome.Detail ?? "No tenant with that identifier exists.");
                return Failure;
            case ProvisioningStatus.Conflict or ProvisioningStatus.Failed:
                await stderr.WriteLineAsync(outcome.Detail);
                return Failure;
        }

        var options = services.GetRequiredService<IOptions<TenancyOptions>>().Value;
        var tenant = PlatformEndpoints.ToResponse(outcome.Tenant!, options, services.GetRequiredService<TenantBounds>());
        if (json)
        {
            object body = created
                ? new CreatedTenantResponse(tenant.Id, tenant.Identifier, tenant.Name, tenant.Status, tenant.SchemaVersion, tenant.CreatedAt,
                    tenant.AuditRetentionDays, tenant.LogRetentionDays, tenant.StatementTimeoutMs, tenant.MaxConcurrency, new OwnerCredentials(ownerEmail!.Trim(), outcome.GeneratedOwnerPassword))
                : tenant;
            await stdout.WriteLineAsync(JsonSerializer.Serialize(body, Json));
            return Success;
        }

        await stdout.WriteLineAsync($"{tenant.Identifier}: {tenant.Status} (schema version {tenant.SchemaVersion ?? "-"}) \"{tenant.Name}\"");
        if (created)
        {
            await stdout.WriteLineAsync($"owner: {ownerEmail!.Trim()}");
            if (outcome.GeneratedOwnerPassword is { } password)
            {
                await stdout.WriteLineAsync($"owner password (shown once): {password}");
            }
        }

        return Success;
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    private static JsonSerializerOptions CreateJsonOptions()
    {
        var options = new JsonSerializerOptions();
        HttpConventions.Configure(options);
        return options;
    }
}
