using System.Globalization;
using Npgsql;

namespace Monolith.Bench;

/// <summary>
/// CPU time the PostgreSQL backend spends per POST /customers transaction, for several tenant schemas side by side
/// (one connection each, blocks alternating between them, min and median per block). Each transaction is what the host
/// sends: DISCARD ALL (Npgsql's reset when a pooled connection is reused), BEGIN, the tenant session's set_config
/// (search_path, audit actor and request id, role: transaction-local), a customer, its project, COMMIT. CPU time comes
/// from /proc/PID/stat of the backend (needs root or the server's user), so it does not count time spent waiting.
/// </summary>
internal static class BackendCpuBench
{
    public static async Task<int> RunAsync(string connectionString, IReadOnlyList<string> targets, int block, int blocks)
    {
        var sessions = new List<(string Label, NpgsqlConnection Connection, string Schema, string Role, List<double> PerTransaction)>();
        foreach (var target in targets)
        {
            var (label, schema) = target.Split('=') is [var l, var s] ? (l, s) : (target, target);
            var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString)
            {
                Pooling = false,
                ApplicationName = "audit-cpu-" + label,
            }.ConnectionString);
            await connection.OpenAsync();
            await using var role = new NpgsqlCommand("SELECT role_name FROM platform.tenants WHERE schema_name = $1", connection);
            role.Parameters.AddWithValue(schema);
            sessions.Add((label, connection, schema, (string)(await role.ExecuteScalarAsync())!, []));
        }

        foreach (var (_, connection, schema, role, _) in sessions)
        {
            for (var i = 0; i < 50; i++)
            {
                await TransactionAsync(connection, schema, role, i); // plans, caches and pages warm
            }
        }

        for (var b = 0; b < blocks; b++)
        {
            foreach (var (_, connection, schema, role, perTransaction) in sessions)
            {
                var before = CpuTicks(connection.ProcessID);
                for (var i = 0; i < block; i++)
                {
                    await TransactionAsync(connection, schema, role, i);
                }

                perTransaction.Add((CpuTicks(connection.ProcessID) - before) * 10_000.0 / block); // ticks are 10 ms
            }
        }

        var baseline = sessions[^1].PerTransaction.Order().ElementAt(blocks / 2);
        foreach (var (label, connection, _, _, perTransaction) in sessions)
        {
            var sorted = perTransaction.Order().ToList();
            var median = sorted[blocks / 2];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {label,-10} backend CPU per transaction: median {median,5:0} µs, min {sorted[0],5:0} µs ({median - baseline,5:+0;-0;0} µs vs {sessions[^1].Label}; blocks of {block}: {string.Join(' ', perTransaction.Select(x => x.ToString("0", CultureInfo.InvariantCulture)))})"));
            await connection.DisposeAsync();
        }

        return 0;
    }

    private static async Task TransactionAsync(NpgsqlConnection connection, string schema, string role, int i)
    {
        var resetSql = Environment.GetEnvironmentVariable("AUDIT_CPU_RESET") switch
        {
            "none" => null,
            "keep-plans" => "SET SESSION AUTHORIZATION DEFAULT;RESET ALL;CLOSE ALL;UNLISTEN *;SELECT pg_advisory_unlock_all();DISCARD SEQUENCES;DISCARD TEMP",
            _ => "DISCARD ALL",
        };
        if (resetSql is not null)
        {
            await using var reset = new NpgsqlCommand(resetSql, connection);
            await reset.ExecuteNonQueryAsync();
        }

        var customer = Guid.CreateVersion7();
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("BEGIN"),
                new NpgsqlBatchCommand(
                    """
                    SELECT set_config('search_path', quote_ident($1), true), set_config('monolith.request_id', $2, true),
                           set_config('monolith.actor_kind', 'user', true), set_config('monolith.actor_email', 'owner@cpu.test', true),
                           set_config('role', $3, true)
                    """) { Parameters = { new() { Value = schema }, new() { Value = $"cpu-{i}" }, new() { Value = role } } },
                new NpgsqlBatchCommand("INSERT INTO customers (id, name, legal_name, email, phone) VALUES ($1, $2, 'Customer Ltd', $3, '+41446681800')")
                {
                    Parameters = { new() { Value = customer }, new() { Value = $"Customer {i}" }, new() { Value = $"c-{customer}@cpu.test" } },
                },
                new NpgsqlBatchCommand("INSERT INTO projects (id, customer_id, name, code) VALUES ($1, $2, 'Main', 'MAIN')")
                {
                    Parameters = { new() { Value = Guid.CreateVersion7() }, new() { Value = customer } },
                },
                new NpgsqlBatchCommand("COMMIT"),
            },
        };
        await batch.ExecuteNonQueryAsync();
    }

    private static long CpuTicks(int pid)
    {
        var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture); // utime + stime
    }
}
