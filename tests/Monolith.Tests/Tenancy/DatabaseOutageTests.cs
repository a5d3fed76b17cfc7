using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tenancy.Provisioning;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// A database that crashes and comes back (CONTRACT §8, issue 9): a lost connection fails at most the requests that were
/// using it, with 503 and Retry-After, never 500; acknowledged writes survive; the host serves again on its own.
/// The server is a durable cluster of the test's own, since it is crashed on purpose.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class DatabaseOutageTests
{
    [Fact]
    public async Task A_server_crash_under_four_writers_answers_no_500_and_loses_no_acknowledged_write()
    {
        using var cluster = await TestDatabase.StartPrivateClusterAsync();
        await using var factory = new MonolithFactory(cluster.Connections);
        var provisioned = await factory.Services.GetRequiredService<TenantProvisioner>().CreateAsync(
            new CreateTenantCommand("crashy", "Crashy", MonolithFixture.OwnerEmail("crashy"), MonolithFixture.OwnerPassword), CancellationToken.None);
        Assert.Equal(ProvisioningStatus.Done, provisioned.Status);
        var tokens = await factory.LoginAsync("crashy", MonolithFixture.OwnerEmail("crashy"), MonolithFixture.OwnerPassword);

        var acknowledged = new ConcurrentBag<string>();
        var statuses = new ConcurrentBag<(HttpStatusCode Status, bool RetryAfter)>();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            using var client = factory.TenantClient("crashy");
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var email = $"w{w}-{i}@crashy.test";
                var response = await client.PostAsJsonAsync("/customers", new { name = $"w{w}-{i}", email, projects = new[] { new { name = "P" } } });
                statuses.Add((response.StatusCode, response.Headers.RetryAfter is not null));
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    acknowledged.Add(email);
                }
            }
        })).ToArray();

        await WaitUntilAsync(() => acknowledged.Count >= 20);
        cluster.CrashAndRestart();
        var afterRestart = acknowledged.Count;
        await WaitUntilAsync(() => acknowledged.Count >= afterRestart + 20);
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.DoesNotContain(statuses, s => (int)s.Status >= 500 && s.Status != HttpStatusCode.ServiceUnavailable);
        Assert.All(statuses.Where(s => s.Status == HttpStatusCode.ServiceUnavailable), s => Assert.True(s.RetryAfter));
        Assert.All(statuses, s => Assert.Contains(s.Status, new[] { HttpStatusCode.Created, HttpStatusCode.ServiceUnavailable }));

        await using var connection = new NpgsqlConnection(cluster.Connections.Superuser);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT email FROM crashy.customers", connection);
        var stored = new HashSet<string>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                stored.Add(reader.GetString(0));
            }
        }

        Assert.DoesNotContain(acknowledged, e => !stored.Contains(e));

        using var health = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await health.GetAsync("/health/ready")).StatusCode);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the writers made no progress");
            await Task.Delay(50);
        }
    }
}
