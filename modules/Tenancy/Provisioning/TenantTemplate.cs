using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.Migrations;
using Monolith.Tenancy.Backups;
using Monolith.Tenancy.Catalog;
using Npgsql;

namespace Monolith.Tenancy.Provisioning;

/// <summary>
/// A new tenant's schema copied from a template instead of replaying every tenant script (docs/adr/0062). The template is
/// a schema and role of their own, migrated by the same scripts; once per process and set of scripts it is dumped as SQL
/// (pg_dump, plain, INSERTs for its few rows such as DbUp's journal) together with the grants its role holds outside the
/// schema, and each provisioning runs that SQL with the template's names rewritten to the tenant's — the rewrite a
/// restore uses. The template is rebuilt when its journal does not list exactly the scripts in force; when it cannot be
/// had at all (no pg_dump, a failing script), provisioning replays the scripts as before.
/// </summary>
internal sealed partial class TenantTemplate(
    PlatformDatabase database,
    TenantScripts scripts,
    IOptions<TenancyOptions> options,
    PostgresTools tools,
    ILogger logger)
{
    // No tenant's schema can be named so: identifiers start with a letter. Names we write, so never quoted in the dump.
    public const string SchemaName = "_monolith_template";
    public const string RoleName = "_monolith_template_role";

    private static readonly TenantInfo Template = new(
        Guid.Empty, "template", "template", SchemaName, RoleName, TenantStatus.Provisioning, null, null, null, DateTimeOffset.MinValue, DateTimeOffset.MinValue);

    private readonly Lock sync = new();
    private Task<string?>? dump;

    /// <summary>Fills <paramref name="tenant"/>'s new, empty schema as the scripts would; false when there is no usable template.</summary>
    /// <remarks>The template lives on the catalog's server; its SQL fills a schema on any server of the placement map.</remarks>
    public async Task<bool> TryFillAsync(TenantInfo tenant, PlatformDatabase server, CancellationToken ct)
    {
        if (await ScriptForAsync(tenant.SchemaName, tenant.RoleName, ct) is not { } script)
        {
            return false;
        }

        await using var connection = await server.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var command = new NpgsqlCommand(script, connection, transaction))
        {
            await command.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
        return true;
    }

    /// <summary>The SQL that fills an empty schema <paramref name="schema"/> for role <paramref name="role"/>; null without a template.</summary>
    public async Task<string?> ScriptForAsync(string schema, string role, CancellationToken ct)
    {
        if (!options.Value.ProvisionFromTemplate || await DumpOnceAsync().WaitAsync(ct) is not { } sql)
        {
            return null;
        }

        return Runnable(RestoreScript.Rewrite(sql, Template, Template with { SchemaName = schema, RoleName = role }));
    }

    /// <summary>
    /// The template's SQL for this instance's scripts, dumped once (a provisioner's scripts never change). A failure is kept
    /// too: this process then replays the scripts for every new tenant without trying again.
    /// </summary>
    private Task<string?> DumpOnceAsync()
    {
        lock (sync)
        {
            return dump ??= Task.Run(DumpOrNullAsync);
        }
    }

    private async Task<string?> DumpOrNullAsync()
    {
        try
        {
            var names = scripts.Value.Scripts.Select(s => s.Name).Order(StringComparer.Ordinal).ToArray();
            return await BuildAndDumpAsync(names, CancellationToken.None);
        }
        catch (Exception e)
        {
            LogTemplateUnavailable(logger, e);
            return null;
        }
    }

    private async Task<string> BuildAndDumpAsync(string[] names, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        await tools.EnsureCompatibleAsync(connection.PostgreSqlVersion.Major * 10000, ct);
        // Several processes may build at once: one at a time, and each dumps what the one before it left current.
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_lock($1)", connection))
        {
            take.Parameters.AddWithValue(TemplateLock);
            await take.ExecuteNonQueryAsync(ct);
        }

        try
        {
            if (!(await JournalAsync(connection, ct)).SequenceEqual(names))
            {
                await RebuildAsync(connection, ct);
            }

            // The grants on shared objects come last, after the lock that keeps concurrent provisionings from granting on
            // the same object at once (which fails: "tuple concurrently updated"); held only until the commit.
            return await PgDumpAsync(ct) + $"SELECT pg_advisory_xact_lock({TenantLocks.RoleChangesKey});\n" +
                await GrantsOutsideTheSchemaAsync(connection, ct);
        }
        finally
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", connection);
            release.Parameters.AddWithValue(TemplateLock);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private static async Task<string[]> JournalAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT CASE WHEN to_regclass('{SchemaName}.{DbUpRunner.JournalTable}') IS NULL THEN NULL ELSE 1 END", connection);
        if (await command.ExecuteScalarAsync(ct) is not int)
        {
            return [];
        }

        await using var list = new NpgsqlCommand($"SELECT scriptname FROM {SchemaName}.{DbUpRunner.JournalTable}", connection);
        var names = new List<string>();
        await using var reader = await list.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            names.Add(reader.GetString(0));
        }

        return [.. names.Order(StringComparer.Ordinal)];
    }

    private async Task RebuildAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            await TenantLocks.LockRoleChangesAsync(connection, transaction, ct);
            await using var command = new NpgsqlCommand(
                $"""
                 DROP SCHEMA IF EXISTS {SchemaName} CASCADE;
                 DO $$ BEGIN
                     IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{RoleName}') THEN
                         EXECUTE 'DROP OWNED BY {RoleName}';
                         EXECUTE 'DROP ROLE {RoleName}';
                     END IF;
                 END $$;
                 """ + "\n" + SqlIdentifier.SchemaAndRoleDdl(SchemaName, RoleName), connection, transaction);
            await command.ExecuteNonQueryAsync(ct);
            await transaction.CommitAsync(ct);
        }

        MigrationOutcome outcome;
        await TenantLocks.AcquireRoleChangesAsync(connection, ct);
        try
        {
            outcome = await Task.Run(
                () => DbUpRunner.MigrateTenant(database.ConnectionString, SchemaName, RoleName, scripts.Value, singleTransaction: true), ct);
        }
        finally
        {
            await TenantLocks.ReleaseRoleChangesAsync(connection);
        }

        if (!outcome.Succeeded)
        {
            throw new InvalidOperationException($"Tenant script {outcome.FailedScript} failed in the template.", outcome.Error);
        }

        LogTemplateBuilt(logger, outcome.Version);
    }

    private async Task<string> PgDumpAsync(CancellationToken ct)
    {
        var owner = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        var run = await PostgresTools.RunAsync(tools.PgDump,
        [
            "--format=plain", "--no-owner", "--inserts", $"--schema={SchemaName}",
            $"--host={owner.Host}", $"--port={owner.Port}", $"--username={owner.Username}", $"--dbname={owner.Database}",
        ], new Dictionary<string, string> { ["PGPASSWORD"] = owner.Password ?? string.Empty, ["PGCONNECT_TIMEOUT"] = "10" }, ct);
        return run.ExitCode == 0
            ? run.Stdout
            : throw new InvalidOperationException($"pg_dump of the template failed (exit {run.ExitCode}): {run.Stderr.Trim()}");
    }

    /// <summary>
    /// What the scripts grant the tenant role on objects of other schemas (e.g. USAGE on <c>monolith</c>): pg_dump of one
    /// schema leaves those out.
    /// </summary>
    private static async Task<string> GrantsOutsideTheSchemaAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
             SELECT format('GRANT %s ON SCHEMA %I TO {RoleName};', a.privilege_type, n.nspname)
             FROM pg_namespace n, aclexplode(n.nspacl) a
             WHERE a.grantee = '{RoleName}'::regrole AND n.nspname <> '{SchemaName}'
             UNION ALL
             SELECT format('GRANT %s ON %s %s TO {RoleName};', a.privilege_type, CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.oid::regclass)
             FROM pg_class c, aclexplode(c.relacl) a
             WHERE a.grantee = '{RoleName}'::regrole AND c.relnamespace <> '{SchemaName}'::regnamespace
             UNION ALL
             SELECT format('GRANT %s ON FUNCTION %s TO {RoleName};', a.privilege_type, p.oid::regprocedure)
             FROM pg_proc p, aclexplode(p.proacl) a
             WHERE a.grantee = '{RoleName}'::regrole AND p.pronamespace <> '{SchemaName}'::regnamespace
             ORDER BY 1
             """, connection);
        var grants = new StringBuilder();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            grants.Append(reader.GetString(0)).Append('\n');
        }

        return grants.ToString();
    }

    /// <summary>
    /// pg_dump writes for psql: its settings become local to the provisioning's transaction, and psql's own commands
    /// (\restrict, \unrestrict) are dropped.
    /// </summary>
    private static string Runnable(string sql)
    {
        var output = new StringBuilder(sql.Length);
        foreach (var line in sql.Split('\n'))
        {
            if (line.StartsWith('\\'))
            {
                continue;
            }

            output.Append(SessionSetting().Replace(line, "SET LOCAL ").Replace("set_config('search_path', '', false)", "set_config('search_path', '', true)", StringComparison.Ordinal))
                .Append('\n');
        }

        return output.ToString();
    }

    [GeneratedRegex("^SET (?!LOCAL )")]
    private static partial Regex SessionSetting();

    private static readonly long TemplateLock = TenantLocks.KeyOf("\0template");

    [LoggerMessage(Level = LogLevel.Information, Message = "Built the tenant template at schema version {Version}")]
    private static partial void LogTemplateBuilt(ILogger logger, string? version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No tenant template: new tenants replay the tenant scripts")]
    private static partial void LogTemplateUnavailable(ILogger logger, Exception exception);
}
