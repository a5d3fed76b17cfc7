using Monolith.Tenancy.Bounds;
using Monolith.Tests.Support;

namespace Monolith.Tests.Tenancy;

/// <summary>
/// When the request pool measures a backend and when it ends one (docs/adr/0071): measured once the schemas met since
/// could, at 300 kB each, have filled what was left; ended when the measure reaches the budget or cannot be taken.
/// </summary>
[Trait("Category", Categories.Unit)]
public sealed class BackendMemoryBudgetTests
{
    private const long Megabyte = 1024 * 1024;
    private const int Backend = 4242;

    [Fact]
    public void A_backend_is_first_measured_when_its_schemas_could_at_worst_have_filled_the_budget()
    {
        var budget = new BackendMemoryBudget(3 * Megabyte, poolSize: 10); // 3 MB at 300 kB per schema: 11 schemas (10.24)
        budget.Started(Backend);
        var tenants = ServeDistinct(budget, 10);
        foreach (var tenant in tenants)
        {
            budget.Serve(Backend, tenant); // served again: no new schema
        }

        Assert.Equal(10, budget.Served(Backend));
        Assert.False(budget.IsDue(Backend));
        ServeDistinct(budget, 1);
        Assert.True(budget.IsDue(Backend));
    }

    [Fact]
    public void A_backend_measured_under_its_budget_is_kept_and_measured_again_once_new_schemas_could_fill_the_rest()
    {
        var budget = new BackendMemoryBudget(48 * Megabyte, poolSize: 10);
        budget.Started(Backend);
        ServeDistinct(budget, 164); // ⌈48 MB ÷ 300 kB⌉
        Assert.True(budget.IsDue(Backend));

        Assert.False(budget.Measured(Backend, 12 * Megabyte)); // a read-only life: 36 MB left, 123 schemas' worth at worst
        Assert.False(budget.IsDue(Backend));
        ServeDistinct(budget, 122);
        Assert.False(budget.IsDue(Backend));
        ServeDistinct(budget, 1);
        Assert.True(budget.IsDue(Backend));

        Assert.True(budget.Measured(Backend, 48 * Megabyte)); // spent: it ends
    }

    [Fact]
    public void A_backend_that_cannot_be_measured_ends_at_its_first_measuring_point()
    {
        var budget = new BackendMemoryBudget(48 * Megabyte, poolSize: 10);
        budget.Started(Backend);
        ServeDistinct(budget, 164);

        Assert.True(budget.Measured(Backend, bytes: null));
    }

    [Fact]
    public void A_backend_close_to_its_budget_is_measured_at_each_new_schema_and_a_new_backend_under_a_reused_id_starts_afresh()
    {
        var budget = new BackendMemoryBudget(Megabyte, poolSize: 10);
        budget.Started(Backend);
        ServeDistinct(budget, 4);
        Assert.False(budget.Measured(Backend, Megabyte - 1));
        ServeDistinct(budget, 1);
        Assert.True(budget.IsDue(Backend));

        budget.Ended(Backend);
        budget.Started(Backend); // the server hands the process id out again
        Assert.Equal(0, budget.Served(Backend));
        Assert.False(budget.IsDue(Backend));
    }

    private static List<Guid> ServeDistinct(BackendMemoryBudget budget, int count)
    {
        var tenants = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToList();
        foreach (var tenant in tenants)
        {
            budget.Serve(Backend, tenant);
        }

        return tenants;
    }
}
