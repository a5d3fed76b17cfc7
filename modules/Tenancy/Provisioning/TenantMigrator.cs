using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Monolith.Migrations;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Operators;
using Monolith.Tenancy.Placement;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Tenancy.Provisioning;

public enum TenantMigrationState
{
    Migrated,
    Current,
    Failed,
}

public sealed record TenantMigrationProgress(
    string Identifier,
    TenantMigrationState State,
    string? Version,
    IReadOnlyList<string> Applied,
    int Attempts,
    TimeSpan Elapsed,
    string? Error);

/// <summary>
/// Brings every live tenant schema to the newest tenant scripts: in parallel with a bound, skipping
/// tenants the catalog says are current, retrying a failing tenant with backoff, never stopping the others,
/// recording each tenant's version in the catalog. A rerun resumes where the last one stopped.
/// </summary>
public sealed partial class TenantMigrator
{
    private const int MaxAttempts = 3;
    private readonly PlatformDatabase database;
    private readonly TenantServers servers;
    private readonly TenantCatalog catalog;
    private readonly TenantCatalogCache cache;
    private readonly TenantScripts scripts;
    private readonly OperatorTrail trail;
    private readonly ILogger<TenantMigrator> logger;

    internal TenantMigrator(
        PlatformDatabase database,
        TenantServers servers,
        TenantCatalog catalog,
        TenantCatalogCache cache,
        TenantScripts scripts,
        OperatorTrail trail,
        ILogger<TenantMigrator> logger)
    {
        this.database = database;
        this.servers = servers;
        this.catalog = catalog;
        this.cache = cache;
        this.scripts = scripts;
        this.trail = trail;
        this.logger = logger;
    }

    public string? LatestVersion => scripts.Value.LatestVersion;

    /// <summary>Existing schemas through <see cref="TenantJournal"/> (the default); false: through DbUp, as before (the bench compares).</summary>
    internal bool ReadJournalDirectly { get; init; } = true;

    /// <summary>
    /// Applies the platform scripts under a database-wide advisory lock: several hosts (and the CLI) starting at
    /// once on one database would otherwise race on the same CREATE statements. Then the same on every other server of
    /// the placement map (its shared functions and its own platform tables, docs/adr/0066); the outcome reported is the
    /// catalog's server's, and a failure on another server is the outcome when the catalog's succeeded.
    /// </summary>
    public MigrationOutcome MigratePlatform()
    {
        LastPlatformOutcome = MigratePlatformOn(database);
        if (!LastPlatformOutcome.Succeeded)
        {
            return LastPlatformOutcome;
        }

        foreach (var name in ServerNames())
        {
            var outcome = MigratePlatformOn(servers.ForAsync(name, CancellationToken.None).AsTask().GetAwaiter().GetResult());
            if (!outcome.Succeeded)
            {
                LastPlatformOutcome = outcome;
                return outcome;
            }
        }

        return LastPlatformOutcome;
    }

    private List<string> ServerNames()
    {
        using var command = database.DataSource.CreateCommand(
            $"SELECT name FROM platform.servers WHERE name <> '{TenantServers.Catalog}' ORDER BY name");
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    /// <summary>The platform scripts on one server, and its request role's grants.</summary>
    internal static MigrationOutcome MigratePlatformOn(PlatformDatabase server)
    {
        using var connection = server.DataSource.OpenConnection();
        using (var take = new NpgsqlCommand("SELECT pg_advisory_lock($1)", connection))
        {
            take.Parameters.AddWithValue(PlatformMigrationLock);
            take.ExecuteNonQuery();
        }

        try
        {
            var outcome = DbUpRunner.MigratePlatform(server.ConnectionString, MigrationScripts.Platform);
            if (outcome.Succeeded)
            {
                GrantRequestRole(server, connection);
            }

            return outcome;
        }
        finally
        {
            using var release = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", connection);
            release.Parameters.AddWithValue(PlatformMigrationLock);
            release.ExecuteNonQuery();
        }
    }

    /// <summary>The request role may read the catalog and become every tenant's role; nothing more (docs/adr/0005).</summary>
    private static void GrantRequestRole(PlatformDatabase server, NpgsqlConnection connection)
    {
        if (server.RequestRole.Length == 0)
        {
            return;
        }

        using var transaction = connection.BeginTransaction();
        TenantLocks.LockRoleChanges(connection, transaction);
        using (var grant = new NpgsqlCommand("SELECT platform.grant_request_role($1)", connection, transaction))
        {
            grant.Parameters.AddWithValue(server.RequestRole);
            grant.ExecuteNonQuery();
        }

        if (server.HasSeparateOwner)
        {
            RequestLogins.Ensure(server, connection, transaction);
        }

        transaction.Commit();
        if (server.RequestLogins.Count > 0 && RequestLogins.CheckPasswords(server, connection) is { Count: > 0 } refused)
        {
            server.RefuseLogins(string.Join("; ", refused));
        }
    }

    /// <summary>What the last <see cref="MigratePlatform"/> of this instance did (the CLI reports it).</summary>
    public MigrationOutcome? LastPlatformOutcome { get; private set; }

    private static readonly long PlatformMigrationLock = TenantLocks.KeyOf("platform-migration");

    public async Task<IReadOnlyList<TenantMigrationProgress>> MigrateAllAsync(
        int parallelism,
        Func<TenantMigrationProgress, Task>? onProgress,
        CancellationToken ct)
    {
        var results = await MigrateAsync(await catalog.ListWithSchemaAsync(ct), parallelism, onProgress, ct);
        await RecordAsync(results, ct);
        return results;
    }

    /// <summary>The tenants given (a batch of a migration job), with no operator-trail record: the caller records its run.</summary>
    internal async Task<IReadOnlyList<TenantMigrationProgress>> MigrateAsync(
        IReadOnlyList<TenantInfo> tenants,
        int parallelism,
        Func<TenantMigrationProgress, Task>? onProgress,
        CancellationToken ct)
    {
        var results = new List<TenantMigrationProgress>();
        await Parallel.ForEachAsync(
            tenants,
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = ct },
            async (tenant, token) =>
            {
                var progress = await MigrateOneAsync(tenant, token);
                lock (results)
                {
                    results.Add(progress);
                }

                if (onProgress is not null)
                {
                    await onProgress(progress);
                }
            });
        return results;
    }

    /// <summary>One operator-trail record per run (the per-tenant effects commit on their own, tenant by tenant).</summary>
    private Task RecordAsync(IReadOnlyList<TenantMigrationProgress> results, CancellationToken ct) =>
        RecordRunAsync(
            results.Count(r => r.State == TenantMigrationState.Migrated),
            results.Count(r => r.State == TenantMigrationState.Current),
            results.Where(r => r.State == TenantMigrationState.Failed).Select(r => r.Identifier).ToList(),
            ct);

    /// <summary>The operator-trail record of a whole run, from its counts (a migration job adds up its batches).</summary>
    internal async Task RecordRunAsync(int migrated, int current, IReadOnlyList<string> failedTenants, CancellationToken ct)
    {
        var failed = failedTenants.Order(StringComparer.Ordinal).ToList();
        var detail = $"to {LatestVersion}: {migrated} migrated, " +
            $"{current} current, {failed.Count} failed" +
            (failed.Count == 0 ? string.Empty : $" ({string.Join(", ", failed.Take(20))}{(failed.Count > 20 ? ", …" : string.Empty)})");
        if (failed.Count > 0)
        {
            await trail.FailedAsync(OperatorActions.MigrationRun, new OperatorSubject(null), detail, ct);
            return;
        }

        await using var work = await trail.BeginAsync(ct);
        await work.SucceededAsync(OperatorActions.MigrationRun, new OperatorSubject(null), detail, ct);
    }

    public async Task<TenantMigrationProgress> MigrateOneAsync(TenantInfo tenant, CancellationToken ct)
    {
        var stopwatch = Stopwatch.StartNew();
        if (tenant.SchemaVersion is not null && tenant.SchemaVersion == scripts.Value.LatestVersion)
        {
            return new TenantMigrationProgress(tenant.Identifier, TenantMigrationState.Current, tenant.SchemaVersion, [], 0, stopwatch.Elapsed, null);
        }

        Exception? lastError = null;
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            try
            {
                var server = await servers.ForAsync(tenant, ct);
                await using var connection = await database.OpenConnectionAsync(ct);
                await TenantLocks.AcquireAsync(connection, tenant.Identifier, ct);
                MigrationOutcome? outcome;
                try
                {
                    // The lock is the catalog's; the schema is on the tenant's server (the same connection when that is the
                    // catalog's). DbUp only for a schema without a journal (it makes one).
                    await using var elsewhere = tenant.Server == TenantServers.Catalog ? null : await server.OpenConnectionAsync(ct);
                    outcome = ReadJournalDirectly
                        ? await TenantJournal.MigrateAsync(elsewhere ?? connection, tenant.SchemaName, tenant.RoleName, scripts.Value, ct)
                        : null;
                    outcome ??= await Task.Run(
                        () => DbUpRunner.MigrateTenant(server.ConnectionString, tenant.SchemaName, tenant.RoleName, scripts.Value), ct);
                }
                finally
                {
                    await TenantLocks.ReleaseAsync(connection, tenant.Identifier);
                }

                if (outcome.Succeeded)
                {
                    await catalog.SetSchemaVersionAsync(tenant.Id, outcome.Version, ct);
                    cache.Invalidate(tenant.Identifier);
                    var state = outcome.Applied.Count == 0 ? TenantMigrationState.Current : TenantMigrationState.Migrated;
                    return new TenantMigrationProgress(tenant.Identifier, state, outcome.Version, outcome.Applied, attempt, stopwatch.Elapsed, null);
                }

                lastError = new InvalidOperationException($"script {outcome.FailedScript} failed: {outcome.Error?.Message}", outcome.Error);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                lastError = e;
            }

            LogAttemptFailed(logger, tenant.Identifier, attempt, lastError);
            if (attempt < MaxAttempts)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt * attempt), ct);
            }
        }

        return new TenantMigrationProgress(tenant.Identifier, TenantMigrationState.Failed, tenant.SchemaVersion, [], MaxAttempts, stopwatch.Elapsed,
            lastError?.Message);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Migrating tenant {Identifier} failed (attempt {Attempt})")]
    private static partial void LogAttemptFailed(ILogger logger, string identifier, int attempt, Exception? exception);
}
