using System.Net;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tests.Support;

namespace Monolith.Tests.Host;

/// <summary>The shipped host is the production host: the bench-only endpoints live in build/bench, not behind a switch here.</summary>
[Trait("Category", Categories.Security)]
public sealed class ShippedHostTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    public override Task InitializeAsync() => Task.CompletedTask;

    [Fact]
    public async Task The_shipped_host_has_no_bench_endpoints_whatever_the_configuration()
    {
        await using var factory = new MonolithFactory(Fixture.Connections, new Dictionary<string, string?> { ["Bench:Enabled"] = "true" });
        var routes = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => "/" + e.RoutePattern.RawText?.TrimStart('/')).ToList();
        Assert.NotEmpty(routes);
        Assert.DoesNotContain(routes, route => route.StartsWith("/bench", StringComparison.OrdinalIgnoreCase));

        var client = factory.TenantClient(MonolithFixture.Alpha);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/bench/session")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/bench/http/customers-raw")).StatusCode);
    }
}
