using System.Diagnostics;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Migrations;
using Monolith.Tenancy;
using Npgsql;

namespace Monolith.Bench;

/// <summary>
/// Where provisioning time goes: the tenant scripts through DbUp (one transaction vs one per script, side by side,
/// alternating) and the owner's password hash, each timed alone on fresh schemas.
/// </summary>
internal static class ProvisioningPhasesBench
{
    public static async Task<int> RunAsync(string connectionString, int count)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("ConnectionStrings:Monolith", connectionString)]).Build();
        await using var services = new ServiceCollection().AddLogging().AddTenancyCore(configuration).BuildServiceProvider();
        var database = services.GetRequiredService<PlatformDatabase>();
        var single = new List<double>();
        var perScript = new List<double>();
        for (var i = 0; i < count; i++)
        {
            perScript.Add(await TimeScriptsAsync(database, $"phase_a_{i}", singleTransaction: false));
            single.Add(await TimeScriptsAsync(database, $"phase_b_{i}", singleTransaction: true));
        }

        var hasher = new PasswordHasher<object>();
        var hashes = new List<double>();
        for (var i = 0; i < Math.Min(count, 50); i++)
        {
            var started = Stopwatch.GetTimestamp();
            hasher.HashPassword(new object(), "bench-password-0123456789");
            hashes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        Console.WriteLine($"tenant scripts ({MigrationScripts.Tenant.Scripts.Count}), a transaction per script: {Stats.Summary(perScript)}");
        Console.WriteLine($"tenant scripts ({MigrationScripts.Tenant.Scripts.Count}), one transaction:          {Stats.Summary(single)}");
        Console.WriteLine($"owner password hash (PBKDF2-HMAC-SHA512, 100,000 iterations):  {Stats.Summary(hashes)}");
        return 0;
    }

    private static async Task<double> TimeScriptsAsync(PlatformDatabase database, string schema, bool singleTransaction)
    {
        var role = "r_" + schema;
        await using (var connection = await database.OpenConnectionAsync())
        {
            await using var create = new NpgsqlCommand(
                $"CREATE ROLE \"{role}\" NOLOGIN; GRANT \"{role}\" TO CURRENT_USER; CREATE SCHEMA \"{schema}\"; GRANT USAGE ON SCHEMA \"{schema}\" TO \"{role}\";",
                connection);
            await create.ExecuteNonQueryAsync();
        }

        var started = Stopwatch.GetTimestamp();
        var outcome = DbUpRunner.MigrateTenant(database.ConnectionString, schema, role, MigrationScripts.Tenant, singleTransaction);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (!outcome.Succeeded)
        {
            throw new InvalidOperationException($"script {outcome.FailedScript} failed", outcome.Error);
        }

        return elapsed;
    }
}
