using Microsoft.Extensions.Logging.Abstractions;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Placement;
using Monolith.Tests.Support;
using Monolith.Toggles.Evaluation;

namespace Monolith.Tests.Toggles;

/// <summary>
/// The toggle cache's poll visits the tenants in use, not every tenant the instance has ever served (issue 16): a tenant
/// unused for <see cref="ToggleCache.IdleTenant"/> is dropped before the poll and reloads on its next use.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class ToggleCacheIdleTenantsTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task A_tenant_unused_for_the_idle_time_is_dropped_and_reloads_on_use()
    {
        var cache = new ToggleCache(Fixture.Service<ToggleStore>(), Fixture.Service<TenantContext>(), NullLogger<ToggleCache>.Instance);
        var catalog = Fixture.Service<TenantCatalog>();
        var alpha = (await catalog.FindAsync(MonolithFixture.Alpha, CancellationToken.None))!;
        var beta = (await catalog.FindAsync(MonolithFixture.Beta, CancellationToken.None))!;
        var start = DateTimeOffset.UtcNow;

        await EvaluateAsync(cache, alpha);
        cache.ForgetIdle(TenantServers.Catalog, start); // alpha used since the last sweep: used now
        await EvaluateAsync(cache, beta);
        cache.ForgetIdle(TenantServers.Catalog, start + CurrentlyIdle(-1)); // alpha unused for 4 minutes, beta used now
        Assert.Equal(2, cache.Count);

        await EvaluateAsync(cache, beta);
        cache.ForgetIdle(TenantServers.Catalog, start + CurrentlyIdle(+1)); // alpha unused for 6 minutes, beta for none
        Assert.Equal(1, cache.Count);
        Assert.Equal(new[] { beta.SchemaName }, cache.Versions(TenantServers.Catalog).Select(cached => cached.Schema));

        cache.ForgetIdle("another-server", start + TimeSpan.FromDays(1)); // another server's sweep leaves this one's tenants
        Assert.Equal(1, cache.Count);

        await EvaluateAsync(cache, alpha);
        Assert.Equal(2, cache.Count);
    }

    private static TimeSpan CurrentlyIdle(int minutes) => ToggleCache.IdleTenant + TimeSpan.FromMinutes(minutes);

    private async Task EvaluateAsync(ToggleCache cache, TenantInfo tenant)
    {
        using (Fixture.Service<TenantContext>().Enter(tenant))
        {
            await cache.EvaluateAsync("any-key");
        }
    }
}
