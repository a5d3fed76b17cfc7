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

    /// <summary>
    /// Hosts on one database side by side (e.g. spares, template, scripts): ROUNDS alternating blocks of COUNT/ROUNDS tenants
    /// each, so both see the same machine noise and the same catalog size; one summary per host.
    /// </summary>
    public static async Task<int> CompareAsync(Uri[] urls, string key, int count, int parallel, int rounds)
    {
        var latencies = urls.Select(_ => new List<double>()).ToArray();
        var failures = 0;
        var prefix = $"ab{Guid.NewGuid():N}"[..6];
        for (var round = 0; round < rounds; round++)
        {
            for (var host = 0; host < urls.Length; host++)
            {
                using var client = new HttpClient { BaseAddress = urls[host], Timeout = TimeSpan.FromMinutes(2) };
                client.DefaultRequestHeaders.Add("X-Platform-Key", key);
                var block = Enumerable.Range(round * (count / rounds), count / rounds);
                var target = latencies[host];
                await Parallel.ForEachAsync(block, new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (i, ct) =>
                {
                    var started = Stopwatch.GetTimestamp();
                    using var response = await client.PostAsJsonAsync("/platform/tenants", new
                    {
                        identifier = $"{prefix}{host}-{i:D4}",
                        name = $"Bench {i}",
                        ownerEmail = $"owner{i}@bench.test",
                        ownerPassword = "bench-password-0123456789",
                    }, ct);
                    var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    var failure = response.IsSuccessStatusCode ? null : $"{urls[host]}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}";
                    lock (target)
                    {
                        if (failure is null)
                        {
                            target.Add(elapsed);
                        }
                        else
                        {
                            failures++;
                            Console.Error.WriteLine(failure);
                        }
                    }
                });
            }
        }

        for (var host = 0; host < urls.Length; host++)
        {
            Console.WriteLine($"provision parallel={parallel} host={urls[host]}: {Stats.Summary(latencies[host])}");
        }

        Console.WriteLine($"failures={failures}");
        return failures == 0 ? 0 : 1;
    }
}

