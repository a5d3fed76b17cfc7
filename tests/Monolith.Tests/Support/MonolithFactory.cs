using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Monolith.Tests.Support;

/// <summary>The real host, over HTTP in memory, on the test run's real PostgreSQL.</summary>
public sealed class MonolithFactory(
    TestConnections database, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null, string environment = "Testing")
    : WebApplicationFactory<Program>
{
    public const string PlatformKey = "test-platform-key-0123456789abcdef0123456789";
    public const string SigningKey = "test-signing-key-0123456789abcdef0123456789abcdef";

    /// <summary>Where this test run's hosts write backups.</summary>
    public static readonly string BackupDirectory = Path.Combine(Path.GetTempPath(), $"monolith-test-backups-{Environment.ProcessId}");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(environment);
        foreach (var (key, value) in database.Settings)
        {
            builder.UseSetting(key, value);
        }

        builder.UseSetting("Platform:ApiKey", PlatformKey);
        builder.UseSetting("Auth:SigningKey", SigningKey);
        builder.UseSetting("Tenancy:CatalogPollMilliseconds", "200");
        builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        // No Hangfire server (workers, schedulers) unless a test asks for one: it would only slow the suite down.
        builder.UseSetting("Jobs:ServerEnabled", "false");
        builder.UseSetting("Backups:Directory", BackupDirectory);
        // Many logins from one address: the anonymous limit per tenant + address, the per-user and the per-tenant request
        // limits are off here; the Access tests lower them on hosts of their own.
        builder.UseSetting("Auth:RateLimits:LoginPermitLimit", "1000000");
        builder.UseSetting("Auth:RateLimits:UserPermitLimit", "0");
        builder.UseSetting("Auth:RateLimits:TenantPermitLimit", "0");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }

        if (services is not null)
        {
            builder.ConfigureTestServices(services);
        }
    }

    public HttpClient PlatformClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Add("X-Platform-Key", PlatformKey);
        return client;
    }

    public HttpClient TenantClient(string tenant)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Add("X-Tenant", tenant);
        return client;
    }
}
