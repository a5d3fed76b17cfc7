using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Npgsql;

namespace Monolith.Bench;

/// <summary>
/// For build/bench/identity.sh: login throughput under concurrent clients, the request role's busy connections while it
/// runs (sampled from pg_stat_activity), and the latency of a database-backed GET that competes for the same pool.
/// </summary>
internal static class IdentityBench
{
    /// <summary>
    /// CONCURRENCY clients log in (POST /auth/token, the owner's password) back to back for SECONDS. Meanwhile every 20 ms
    /// the connections of ROLE that work for a request (state active or idle in transaction: checked out of the pool) are
    /// counted through SAMPLE_DB, and one more client reads GET /customers?limit=1 with PROBE_TOKEN one request at a time.
    /// </summary>
    public static async Task<int> LoginLoadAsync(
        Uri url, string tenant, string email, int seconds, int concurrency, string sampleConnectionString, string role, string probeToken)
    {
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency + 4, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        using var client = new HttpClient(handler) { BaseAddress = url, Timeout = TimeSpan.FromMinutes(1) };
        client.DefaultRequestHeaders.Add("X-Tenant", tenant);
        for (var i = 0; i < 3; i++)
        {
            using var warm = await client.PostAsJsonAsync("/auth/token", new { email, password = HttpBench.Password });
            warm.EnsureSuccessStatusCode();
        }

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var latencies = new List<double>[concurrency];
        var failures = 0;
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            latencies[w] = [];
            while (!stop.IsCancellationRequested)
            {
                var t = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await client.PostAsJsonAsync("/auth/token", new { email, password = HttpBench.Password }, CancellationToken.None);
                    if (response.IsSuccessStatusCode)
                    {
                        latencies[w].Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                    }
                    else
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })).ToList();

        var probe = Task.Run(async () =>
        {
            using var request = new HttpClient(new SocketsHttpHandler()) { BaseAddress = url, Timeout = TimeSpan.FromMinutes(1) };
            request.DefaultRequestHeaders.Add("X-Tenant", tenant);
            request.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", probeToken);
            var probeLatencies = new List<double>();
            var probeFailures = 0;
            while (!stop.IsCancellationRequested)
            {
                var t = Stopwatch.GetTimestamp();
                using var response = await request.GetAsync("/customers?limit=1", CancellationToken.None);
                if (response.IsSuccessStatusCode)
                {
                    probeLatencies.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                }
                else
                {
                    probeFailures++;
                }

                await Task.Delay(10, CancellationToken.None);
            }

            return (probeLatencies, probeFailures);
        });

        var samples = new List<double>();
        await using (var connection = new NpgsqlConnection(sampleConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = $1 AND state IN ('active', 'idle in transaction')",
                connection);
            command.Parameters.AddWithValue(role);
            while (!stop.IsCancellationRequested)
            {
                samples.Add((long)(await command.ExecuteScalarAsync(CancellationToken.None))!);
                await Task.Delay(20, CancellationToken.None);
            }
        }

        await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var (probeLatencies, probeFailures) = await probe;
        var all = latencies.SelectMany(l => l).ToList();
        samples.Sort();
        Console.WriteLine(
            $"logins {concurrency} clients {seconds} s: {all.Count / elapsed:0.0}/s {(all.Count == 0 ? "n=0" : Stats.Summary(all))} failures={failures}; " +
            $"busy connections mean {samples.Average():0.0} p50 {Stats.Percentile(samples, 50):0} max {samples[^1]:0} ({samples.Count} samples); " +
            $"probe GET /customers?limit=1 {(probeLatencies.Count == 0 ? "n=0" : Stats.Summary(probeLatencies))} failures={probeFailures}");
        return failures == 0 && probeFailures == 0 ? 0 : 1;
    }
}
