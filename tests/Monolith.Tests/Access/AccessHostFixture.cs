using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tenancy.Provisioning;
using Monolith.Tests.Support;
using Serilog.Core;

namespace Monolith.Tests.Access;

/// <summary>
/// A host of its own with low, short limits and every log event captured, for the rate-limit and secrets
/// tests. Each test provisions a tenant of its own, so the limiters' partitions never meet.
/// </summary>
public sealed class AccessHostFixture : IAsyncLifetime
{
    public const int AccountMaxFailures = 3;
    public const int LockoutWindowSeconds = 10;
    public const int LoginPermitLimit = 8;
    public const int LoginWindowSeconds = 2;
    public const int UserPermitLimit = 30;
    public const int TenantPermitLimit = 40;

    /// <summary>The one proxy whose X-Forwarded-For this host believes.</summary>
    public const string KnownProxy = "10.9.9.9";

    public CapturedLogs Logs { get; } = new();

    public MonolithFactory Factory { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var database = await TestDatabase.Shared;
        Factory = new MonolithFactory(
            database.Connections,
            new Dictionary<string, string?>
            {
                ["Serilog:MinimumLevel:Default"] = "Verbose",
                ["Auth:RateLimits:AccountMaxFailures"] = AccountMaxFailures.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Auth:RateLimits:AccountLockoutWindowSeconds"] = LockoutWindowSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Auth:RateLimits:LoginPermitLimit"] = LoginPermitLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Auth:RateLimits:LoginWindowSeconds"] = LoginWindowSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Auth:RateLimits:UserPermitLimit"] = UserPermitLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Auth:RateLimits:UserWindowSeconds"] = "60",
                ["Auth:RateLimits:TenantPermitLimit"] = TenantPermitLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Auth:RateLimits:TenantWindowSeconds"] = "60",
                ["ForwardedHeaders:KnownProxies:0"] = KnownProxy,
                // The per-tenant concurrency bound is Tenancy's, tested there: its one-second wait for a slot must not
                // turn a burst of slow password checks on a busy machine into 503s that these limits did not answer.
                ["Tenancy:ConcurrencyQueueMs"] = "60000",
            },
            services =>
            {
                services.AddSingleton<ILogEventSink>(Logs);
                services.AddSingleton<IStartupFilter, TestPeerAddress>();
            });
        _ = Factory.Server;
    }

    /// <summary>A fresh tenant whose owner is <see cref="MonolithFixture.OwnerEmail"/> with <see cref="MonolithFixture.OwnerPassword"/>.</summary>
    public async Task<string> ProvisionAsync(string prefix)
    {
        var identifier = MonolithFixture.UniqueIdentifier(prefix);
        var result = await Factory.Services.GetRequiredService<TenantProvisioner>().CreateAsync(
            new CreateTenantCommand(identifier, identifier, MonolithFixture.OwnerEmail(identifier), MonolithFixture.OwnerPassword), CancellationToken.None);
        return result.Status == ProvisioningStatus.Done ? identifier : throw new InvalidOperationException($"provisioning {identifier}: {result.Status}");
    }

    public async Task DisposeAsync() => await Factory.DisposeAsync();
}

/// <summary>
/// The in-memory test server has no TCP peer (its requests have no remote address). On this host a request can name the
/// address it "connects from" in <see cref="Header"/>, set before anything else in the pipeline (forwarded headers,
/// rate limits) looks at it.
/// </summary>
public sealed class TestPeerAddress : IStartupFilter
{
    public const string Header = "X-Test-Peer";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, nextMiddleware) =>
        {
            if (IPAddress.TryParse(context.Request.Headers[Header].ToString(), out var peer))
            {
                context.Connection.RemoteIpAddress = peer;
            }

            return nextMiddleware(context);
        });
        next(app);
    };
}
