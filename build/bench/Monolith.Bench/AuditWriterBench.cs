using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace Monolith.Bench;

/// <summary>
/// A steady writer of audited rows: CONCURRENCY loops of POST /customers (a customer and its project, two audit
/// records each) for SECONDS, stopping early when OUT.stop exists, writing one line per request to OUT: unix time in ms at the end, latency in ms, status.
/// </summary>
internal static class AuditWriterBench
{
    public static async Task<int> RunAsync(Uri baseUrl, string tenant, string token, int seconds, string outPath, int concurrency)
    {
        using var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Add("X-Tenant", tenant);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var lines = new List<string>[concurrency];
        var until = Stopwatch.GetTimestamp() + (long)(seconds * (double)Stopwatch.Frequency);
        var prefix = Guid.NewGuid().ToString("N")[..8];
        var failures = 0;
        var stopPath = outPath + ".stop";
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
        {
            var mine = lines[worker] = [];
            for (var i = 0; Stopwatch.GetTimestamp() < until && !File.Exists(stopPath); i++)
            {
                var body = $$"""{"name":"Writer {{worker}}-{{i}}","email":"w{{prefix}}-{{worker}}-{{i}}@writer.test","projects":[{"name":"P"}]}""";
                using var content = new StringContent(body, Encoding.UTF8, "application/json");
                var started = Stopwatch.GetTimestamp();
                using var response = await http.PostAsync(new Uri("customers", UriKind.Relative), content);
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref failures);
                }

                mine.Add(string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()} {elapsed:0.00} {(int)response.StatusCode}"));
            }
        }));
        await File.WriteAllLinesAsync(outPath, lines.SelectMany(l => l));
        Console.Error.WriteLine($"writer: {lines.Sum(l => l.Count)} requests, {failures} failed");
        return failures == 0 ? 0 : 1;
    }
}
