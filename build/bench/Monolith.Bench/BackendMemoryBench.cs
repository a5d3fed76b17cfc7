using System.Globalization;
using Monolith.Migrations;
using Npgsql;

namespace Monolith.Bench;

/// <summary>
/// Private memory of one PostgreSQL backend after it has served COUNT tenants, for two layouts side by side:
/// <c>per-schema</c> (every tenant script but 0010: every schema carries its own copies of the trail's, customers' and
/// toggles' functions) and <c>shared</c> (every script: one copy in schema <c>monolith</c>). For each layout COUNT schemas
/// are made with DbUp, then ONE connection serves each tenant the way the host does (DISCARD ALL, role + search_path +
/// audit settings, a customer with a project, a rename, a page of customers, the settings) and the backend's
/// /proc/PID/smaps_rollup and pg_backend_memory_contexts are read. Schemas are made by the owner role (as provisioning
/// does); the serving connection is the superuser's. Needs to run as root or as the server's user.
/// </summary>
internal static class BackendMemoryBench
{
    public static async Task<int> RunAsync(string connectionString, string ownerConnectionString, int count, int parallel)
    {
        var before = new MigrationScripts(MigrationScripts.Tenant.Scripts.Where(s => !s.Name.StartsWith("0010_", StringComparison.Ordinal)));
        var layouts = new (string Name, MigrationScripts Scripts)[] { ("per-schema", before), ("shared", MigrationScripts.Tenant) };
        foreach (var (name, scripts) in layouts)
        {
            var prefix = name == "shared" ? "mem_s" : "mem_p";
            var started = DateTime.UtcNow;
            await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (i, ct) =>
            {
                var schema = $"{prefix}_{i:D4}";
                // Made by the owner role, as provisioning does: the shared functions run with its rights and find the
                // tenant's tables only in schemas it may use.
                await using (var connection = new NpgsqlConnection(ownerConnectionString))
                {
                    await connection.OpenAsync(ct);
                    await using var create = new NpgsqlCommand(
                        $"CREATE ROLE \"{schema}\" NOLOGIN NOINHERIT; GRANT \"{schema}\" TO CURRENT_USER; CREATE SCHEMA \"{schema}\"; " +
                        $"REVOKE ALL ON SCHEMA \"{schema}\" FROM PUBLIC; GRANT USAGE ON SCHEMA \"{schema}\" TO \"{schema}\";", connection);
                    await create.ExecuteNonQueryAsync(ct);
                }

                var outcome = DbUpRunner.MigrateTenant(ownerConnectionString, schema, schema, scripts, singleTransaction: true);
                if (!outcome.Succeeded)
                {
                    throw new InvalidOperationException($"{schema}: script {outcome.FailedScript} failed", outcome.Error);
                }
            });
            Console.Error.WriteLine($"{name}: {count} schemas in {(DateTime.UtcNow - started).TotalSeconds:0} s");
        }

        Console.WriteLine($"layout      | backend private memory after serving {count} tenants (smaps_rollup Private_Clean + Private_Dirty) | largest memory contexts");
        foreach (var (name, _) in layouts)
        {
            var prefix = name == "shared" ? "mem_s" : "mem_p";
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
            await connection.OpenAsync();
            var pid = connection.ProcessID;
            var start = PrivateKilobytes(pid);
            for (var i = 0; i < count; i++)
            {
                await ServeAsync(connection, $"{prefix}_{i:D4}", i);
            }

            await using (var discard = new NpgsqlCommand("DISCARD ALL", connection))
            {
                await discard.ExecuteNonQueryAsync();
            }

            var end = PrivateKilobytes(pid);
            var contexts = new List<string>();
            await using (var command = new NpgsqlCommand(
                """
                SELECT name, count(*), sum(total_bytes) FROM pg_backend_memory_contexts
                GROUP BY name ORDER BY sum(total_bytes) DESC LIMIT 6
                """, connection))
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    contexts.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{reader.GetString(0)} ×{reader.GetInt64(1)}: {reader.GetDecimal(2) / 1024 / 1024:0.0} MB"));
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-11} | {start / 1024.0:0.0} MB at start → {end / 1024.0:0.0} MB ({(end - start) / 1024.0 / count * 1024:0} kB per tenant) | {string.Join("; ", contexts)}"));
        }

        return 0;
    }

    /// <summary>One request's worth of work for one tenant, on one connection, as the host does it.</summary>
    private static async Task ServeAsync(NpgsqlConnection connection, string schema, int i)
    {
        var customer = Guid.CreateVersion7();
        await using (var discard = new NpgsqlCommand("DISCARD ALL", connection))
        {
            await discard.ExecuteNonQueryAsync(); // what Npgsql does when a pooled connection is reused
        }

        await using var command = new NpgsqlCommand(
            $"""
             BEGIN;
             SELECT set_config('search_path', '"{schema}"', true), set_config('monolith.request_id', 'mem-{i}', true),
                    set_config('monolith.actor_kind', 'user', true), set_config('monolith.actor_email', 'owner@mem.test', true),
                    set_config('role', '{schema}', true);
             INSERT INTO customers (id, name, email) VALUES ('{customer}', 'Customer {i}', 'c{i}@mem.test');
             INSERT INTO projects (id, customer_id, name) VALUES ('{Guid.CreateVersion7()}', '{customer}', 'Main');
             UPDATE customers SET name = 'Renamed {i}' WHERE id = '{customer}';
             SELECT id, name, email FROM customers ORDER BY name, id LIMIT 50;
             SELECT key, value FROM tenant_settings;
             COMMIT;
             """, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static long PrivateKilobytes(int pid)
    {
        long total = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
        {
            if (line.StartsWith("Private_Clean:", StringComparison.Ordinal) || line.StartsWith("Private_Dirty:", StringComparison.Ordinal))
            {
                total += long.Parse(line.Split(':', StringSplitOptions.TrimEntries)[1].Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return total;
    }
}
