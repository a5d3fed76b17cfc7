using System.Diagnostics;
using DbUp.Engine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Monolith.Migrations;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Operators;
using Monolith.Tenancy.Placement;
using Monolith.Tenancy.Provisioning;

namespace Monolith.Bench;

/// <summary>Migrates every existing tenant schema with one new script, as `migrate` would after a deploy.</summary>
internal static class MigrationBench
{
    public static async Task<int> RunAsync(string connectionString, int parallel)
    {
        var scriptName = $"9{DateTime.UtcNow:MMddHHmm}_bench_column.sql"; // the number must fit an int (MigrationScripts.NumberOf)
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new("ConnectionStrings:Monolith", connectionString)])
            .Build();
        var services = new ServiceCollection()
            .AddLogging()
            .AddTenancyCore(configuration)
            .AddSingleton(new TenantScripts(MigrationScripts.Tenant.With(
                new SqlScript(scriptName, "ALTER TABLE tenant_settings ADD COLUMN IF NOT EXISTS bench_note text;"))))
            .BuildServiceProvider();
        await using var _ = services;

        var migrator = services.GetRequiredService<TenantMigrator>();
        var total = Stopwatch.StartNew();
        var results = await migrator.MigrateAllAsync(parallel, null, CancellationToken.None);
        total.Stop();
        var migrated = results.Where(r => r.State == TenantMigrationState.Migrated).Select(r => r.Elapsed.TotalMilliseconds).ToList();
        var failed = results.Count(r => r.State == TenantMigrationState.Failed);
        Console.WriteLine($"migrate parallel={parallel}: {results.Count} tenants in {total.Elapsed.TotalSeconds:0.00} s " +
                          $"(per 1,000: {total.Elapsed.TotalSeconds / Math.Max(1, results.Count) * 1000:0} s); per tenant {Stats.Summary(migrated)} failed={failed}");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>
    /// The same one-script migration of every tenant, through DbUp per schema (before) and through the schema's journal
    /// read directly on the locked connection (after), alternating for <paramref name="rounds"/> rounds: each pass adds one new
    /// script, so every pass migrates every tenant by exactly one script.
    /// </summary>
    public static async Task<int> CompareAsync(string connectionString, int parallel, int rounds)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new("ConnectionStrings:Monolith", connectionString)])
            .Build();
        var services = new ServiceCollection().AddLogging().AddTenancyCore(configuration).BuildServiceProvider();
        await using var _ = services;

        var stamp = DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture);
        var added = new List<SqlScript>();
        var times = new Dictionary<bool, List<double>> { [false] = [], [true] = [] };
        var tenants = 0;
        for (var pass = 0; pass < rounds * 2; pass++)
        {
            var direct = (pass % 2 == 0) == (pass / 2 % 2 == 0); // ABBA: before/after, then after/before
            added.Add(new SqlScript($"{99900 + pass}_bench_ab_{stamp}.sql", $"ALTER TABLE tenant_settings ADD COLUMN IF NOT EXISTS bench_ab_{pass} text;"));
            var migrator = new TenantMigrator(
                services.GetRequiredService<PlatformDatabase>(), services.GetRequiredService<TenantServers>(), services.GetRequiredService<TenantCatalog>(),
                services.GetRequiredService<TenantCatalogCache>(), new TenantScripts(MigrationScripts.Tenant.With([.. added])),
                services.GetRequiredService<OperatorTrail>(), services.GetRequiredService<ILogger<TenantMigrator>>())
            {
                ReadJournalDirectly = direct,
            };
            var clock = Stopwatch.StartNew();
            var results = await migrator.MigrateAllAsync(parallel, null, CancellationToken.None);
            clock.Stop();
            var migrated = results.Count(r => r.State == TenantMigrationState.Migrated);
            if (migrated != results.Count)
            {
                Console.Error.WriteLine($"pass {pass}: {results.Count - migrated} of {results.Count} tenants not migrated");
                return 1;
            }

            tenants = results.Count;
            times[direct].Add(clock.Elapsed.TotalSeconds);
            Console.WriteLine($"pass {pass} ({(direct ? "journal read directly" : "DbUp per schema")}): {tenants} tenants in {clock.Elapsed.TotalSeconds:0.00} s");
        }

        double Median(List<double> values)
        {
            var sorted = values.Order().ToList();
            return Stats.Percentile(sorted, 50);
        }

        await AdoptionCostAsync(services.GetRequiredService<PlatformDatabase>(), services.GetRequiredService<TenantCatalog>());
        var (before, after) = (Median(times[false]), Median(times[true]));
        Console.WriteLine($"migrate one new script, {tenants} tenants, parallel={parallel}, {rounds} round(s) each, medians: " +
                          $"DbUp per schema {before:0.00} s ({before / tenants * 10_000 / 60:0.0} min per 10,000), " +
                          $"journal read directly {after:0.00} s ({after / tenants * 10_000 / 60:0.0} min per 10,000): time ratio after/before {after / before:0.00}");
        return 0;
    }

    /// <summary>
    /// What the run-always adoption of shared functions costs per migrated tenant: the call as it was (it scans pg_trigger
    /// and pg_proc, which hold every tenant's objects) vs the call behind the pg_depend check it now has, alternating per tenant.
    /// </summary>
    private static async Task AdoptionCostAsync(PlatformDatabase database, TenantCatalog catalog)
    {
        const string unguarded = "SELECT monolith.adopt_shared_functions(current_schema())";
        var guarded = DbUpRunnerAdoption();
        var times = new Dictionary<bool, List<double>> { [false] = [], [true] = [] };
        await using var connection = await database.OpenConnectionAsync(CancellationToken.None);
        foreach (var tenant in (await catalog.ListLiveAsync(CancellationToken.None)).Take(200))
        {
            foreach (var withCheck in new[] { false, true })
            {
                await using var transaction = await connection.BeginTransactionAsync();
                await using (var path = new Npgsql.NpgsqlCommand($"SET LOCAL search_path TO \"{tenant.SchemaName}\"", connection, transaction))
                {
                    await path.ExecuteNonQueryAsync();
                }

                var clock = Stopwatch.StartNew();
                await using (var adopt = new Npgsql.NpgsqlCommand(withCheck ? guarded : unguarded, connection, transaction))
                {
                    await adopt.ExecuteNonQueryAsync();
                }

                times[withCheck].Add(clock.Elapsed.TotalMilliseconds);
                await transaction.RollbackAsync();
            }
        }

        Console.WriteLine($"adoption of shared functions per tenant: as it was {Stats.Summary(times[false])}; behind the pg_depend check {Stats.Summary(times[true])}");
    }

    private static string DbUpRunnerAdoption() =>
        typeof(DbUpRunner).GetField("AdoptSharedFunctions", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .GetValue(null) is SqlScript script ? script.Contents : throw new InvalidOperationException("no adoption script");
}
