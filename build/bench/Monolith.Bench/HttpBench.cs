using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Identity;

namespace Monolith.Bench;

/// <summary>
/// Helpers for build/bench/http.sh: the password hash cost in process, login latency, tenants with customers and a
/// token each, and POST /customers at a fixed rate (open loop: latency counts from the scheduled send time, so a
/// slow answer cannot hide the requests queued behind it).
/// </summary>
internal static class HttpBench
{
    public const string Password = "bench-password-0123456789";

    /// <summary>ASP.NET Core Identity's PasswordHasher with its defaults (what modules/Access uses), timed in process.</summary>
    public static int HashCost(int count)
    {
        var hasher = new PasswordHasher<object>();
        var user = new object();
        var hash = hasher.HashPassword(user, Password);
        hasher.VerifyHashedPassword(user, hash, Password);
        var hashing = new List<double>();
        var verifying = new List<double>();
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            hash = hasher.HashPassword(user, Password);
            hashing.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            started = Stopwatch.GetTimestamp();
            hasher.VerifyHashedPassword(user, hash, Password);
            verifying.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        var bytes = Convert.FromBase64String(hash);
        Console.WriteLine($"PasswordHasher format=0x{bytes[0]:X2} prf={ReadUInt32(bytes, 1)} (2 = HMAC-SHA512) iterations={ReadUInt32(bytes, 5):N0} " +
                          $"salt={ReadUInt32(bytes, 9) * 8} bits subkey={(bytes.Length - 13 - ReadUInt32(bytes, 9)) * 8} bits");
        Console.WriteLine($"HashPassword: {Stats.Summary(hashing)}");
        Console.WriteLine($"VerifyHashedPassword: {Stats.Summary(verifying)}");
        return 0;
    }

    /// <summary>Sequential logins through POST /auth/token (one at a time: the latency of one login on an idle host).</summary>
    public static async Task<int> LoginAsync(Uri url, string tenant, string email, int count)
    {
        using var client = Client(url, tenant);
        var latencies = new List<double>();
        var failures = 0;
        for (var i = -3; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await client.PostAsJsonAsync("/auth/token", new { email, password = Password });
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (!response.IsSuccessStatusCode)
            {
                failures++;
            }
            else if (i >= 0)
            {
                latencies.Add(elapsed);
            }
        }

        Console.WriteLine($"login POST /auth/token sequential: {Stats.Summary(latencies)} failures={failures}");
        return failures == 0 ? 0 : 1;
    }

    /// <summary>
    /// Provisions COUNT tenants (PREFIX-0000...) through the platform API, logs their owner in once, creates
    /// CUSTOMERS customers in each, and writes "tenant token" lines to OUT.
    /// </summary>
    public static async Task<int> TenantsAsync(Uri url, string key, string prefix, int count, int customers, int parallel, string output)
    {
        using var platform = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromMinutes(2) };
        platform.DefaultRequestHeaders.Add("X-Platform-Key", key);
        // Written as tenants are ready, so a run stopped midway (10,000 tenants take hours) can still be measured by hand.
        await using var tokens = new StreamWriter(output, append: false) { AutoFlush = true };
        var written = new SemaphoreSlim(1, 1);
        var failures = 0;
        var total = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (i, ct) =>
        {
            var tenant = $"{prefix}-{i:D4}";
            var email = $"owner@{tenant}.test";
            using var created = await platform.PostAsJsonAsync("/platform/tenants",
                new { identifier = tenant, name = $"Bench {i}", ownerEmail = email, ownerPassword = Password }, ct);
            if (!created.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref failures);
                return;
            }

            using var client = Client(url, tenant);
            string token;
            try
            {
                token = await TokenAsync(client, email, ct);
            }
            catch (HttpRequestException e)
            {
                Console.Error.WriteLine($"{tenant}: login failed: {e.Message}");
                Interlocked.Increment(ref failures);
                return;
            }

            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            if (await CreateCustomersAsync(client, tenant, customers, ct) != customers)
            {
                Interlocked.Increment(ref failures);
            }

            await written.WaitAsync(ct);
            try
            {
                await tokens.WriteLineAsync($"{tenant} {token}");
            }
            finally
            {
                written.Release();
            }
        });
        Console.WriteLine($"tenants: {count - failures}/{count} provisioned with {customers} customers and a token each in " +
                          $"{total.Elapsed.TotalSeconds:0.0} s (parallel {parallel}) failures={failures}");
        return failures == 0 ? 0 : 1;
    }

    /// <summary>Logs in the owner of TENANT and creates CUSTOMERS customers; prints the token.</summary>
    public static async Task<int> CustomersAsync(Uri url, string tenant, string email, int customers)
    {
        using var client = Client(url, tenant);
        var token = await TokenAsync(client, email, CancellationToken.None);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var created = await CreateCustomersAsync(client, tenant, customers, CancellationToken.None);
        Console.WriteLine(token);
        return created == customers ? 0 : 1;
    }

    /// <summary>POST /customers at RATE requests/s for SECONDS (after one second of warm-up at the same rate).</summary>
    public static async Task<int> PostRateAsync(Uri url, string tenant, string token, int rate, int seconds)
    {
        using var client = Client(url, tenant, new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = Timeout.InfiniteTimeSpan });
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var run = Guid.NewGuid().ToString("N")[..8];
        var warmup = rate;
        var total = rate * (seconds + 1);
        var latencies = new double[total];
        var failed = new bool[total];
        var tasks = new List<Task>(total);
        var start = Stopwatch.GetTimestamp();
        var ticksPerRequest = Stopwatch.Frequency / (double)rate;
        var next = 0;
        while (next < total)
        {
            var now = Stopwatch.GetTimestamp();
            while (next < total && start + (long)(next * ticksPerRequest) <= now)
            {
                var i = next++;
                var scheduled = start + (long)(i * ticksPerRequest);
                tasks.Add(Task.Run(async () =>
                {
                    try
                    {
                        using var response = await client.PostAsJsonAsync("/customers", NewCustomer($"r{run}-{i}"));
                        failed[i] = !response.IsSuccessStatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        failed[i] = true;
                    }

                    latencies[i] = Stopwatch.GetElapsedTime(scheduled).TotalMilliseconds;
                }));
            }

            await Task.Delay(1);
        }

        await Task.WhenAll(tasks);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var measured = latencies.Skip(warmup).ToList();
        var failures = failed.Count(f => f);
        measured.Sort();
        Console.WriteLine($"POST /customers at {rate}/s for {seconds} s (open loop, after 1 s warm-up): n={measured.Count} " +
                          $"p50={Stats.Percentile(measured, 50):0.0} ms p90={Stats.Percentile(measured, 90):0.0} ms " +
                          $"p99={Stats.Percentile(measured, 99):0.0} ms max={measured[^1]:0.0} ms achieved={total / elapsed:0} req/s failures={failures}");
        return failures == 0 ? 0 : 1;
    }

    private static HttpClient Client(Uri url, string tenant, HttpMessageHandler? handler = null)
    {
        var client = handler is null ? new HttpClient() : new HttpClient(handler);
        client.BaseAddress = url;
        client.Timeout = TimeSpan.FromMinutes(2);
        client.DefaultRequestHeaders.Add("X-Tenant", tenant);
        return client;
    }

    private static async Task<string> TokenAsync(HttpClient client, string email, CancellationToken ct)
    {
        using var response = await client.PostAsJsonAsync("/auth/token", new { email, password = Password }, ct);
        response.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        return body.RootElement.GetProperty("accessToken").GetString()!;
    }

    private static async Task<int> CreateCustomersAsync(HttpClient client, string tenant, int count, CancellationToken ct)
    {
        var created = 0;
        for (var i = 0; i < count; i++)
        {
            using var response = await client.PostAsJsonAsync("/customers", NewCustomer($"{tenant}-{i}"), ct);
            created += response.IsSuccessStatusCode ? 1 : 0;
        }

        return created;
    }

    private static object NewCustomer(string unique) => new
    {
        name = $"Customer {unique}",
        legalName = $"Customer {unique} Ltd",
        email = $"c-{unique}@bench.test",
        phone = "+41446681800",
        projects = new[] { new { name = "Main", code = "MAIN" } },
    };

    private static uint ReadUInt32(byte[] bytes, int offset) =>
        (uint)(bytes[offset] << 24 | bytes[offset + 1] << 16 | bytes[offset + 2] << 8 | bytes[offset + 3]);
}
