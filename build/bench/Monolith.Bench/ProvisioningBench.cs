using System.Diagnostics;
using System.Net.Http.Json;

namespace Monolith.Bench;

/// <summary>Provisions tenants through the platform API of a running host and reports per-tenant latency.</summary>
internal static class ProvisioningBench
{
    public static async Task<int> RunAsync(Uri url, string key, int count, int parallel)
    {
        using var client = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Add("X-Platform-Key", key);
        var prefix = $"b{Guid.NewGuid():N}"[..7];
        var latencies = new List<double>();
        var failures = 0;
        var total = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (i, ct) =>
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await client.PostAsJsonAsync("/platform/tenants", new
            {
                identifier = $"{prefix}-{i:D4}",
                name = $"Bench {i}",
                ownerEmail = $"owner{i}@bench.test",
                ownerPassword = "bench-password-0123456789",
            }, ct);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            lock (latencies)
            {
                if (response.IsSuccessStatusCode)
                {
                    latencies.Add(elapsed);
                }
                else
                {
                    failures++;
                }
            }
        });
        Console.WriteLine($"provision parallel={parallel}: {Stats.Summary(latencies)} failures={failures} total={total.Elapsed.TotalSeconds:0.0} s " +
                          $"({count / total.Elapsed.TotalSeconds:0.0} tenants/s)");
        return failures == 0 ? 0 : 1;
    }
}
