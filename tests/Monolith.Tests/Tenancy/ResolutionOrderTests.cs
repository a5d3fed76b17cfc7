using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Monolith.Tenancy;
using Monolith.Tenancy.Resolution;
using Monolith.Tests.Support;

namespace Monolith.Tests.Tenancy;

/// <summary><c>Tenancy:ResolutionOrder</c> from configuration replaces the default order; it is never appended to it.</summary>
[Trait("Category", Categories.Unit)]
public sealed class ResolutionOrderTests
{
    private static List<Type> Order(params string[] configured)
    {
        var settings = configured.Select((name, i) => new KeyValuePair<string, string?>($"Tenancy:ResolutionOrder:{i}", name));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var services = new ServiceCollection().AddTenancyCore(configuration).BuildServiceProvider();
        var options = services.GetRequiredService<IOptions<TenancyOptions>>().Value;
        return TenancyModule.Strategies(options).Select(s => s.GetType()).ToList();
    }

    [Fact]
    public void Without_configuration_the_order_is_header_host_claim()
    {
        Assert.Equal([typeof(HeaderStrategy), typeof(HostStrategy), typeof(ClaimStrategy)], Order());
    }

    [Fact]
    public void A_configured_order_replaces_the_default()
    {
        Assert.Equal([typeof(ClaimStrategy), typeof(HeaderStrategy)], Order("claim", "header"));
        Assert.Equal([typeof(HostStrategy)], Order("host"));
    }

    [Fact]
    public void An_unknown_or_repeated_strategy_is_a_start_up_error()
    {
        Assert.Contains("cookie", Assert.Throws<InvalidOperationException>(() => Order("header", "cookie")).Message, StringComparison.Ordinal);
        Assert.Contains("twice", Assert.Throws<InvalidOperationException>(() => Order("header", "Header")).Message, StringComparison.Ordinal);
    }
}
