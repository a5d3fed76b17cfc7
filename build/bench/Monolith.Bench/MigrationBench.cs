using System.Diagnostics;
using DbUp.Engine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Migrations;
using Monolith.Tenancy;
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
}
