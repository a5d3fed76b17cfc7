using Monolith.SharedKernel.Caching;
using Monolith.Tests.Support;

namespace Monolith.Tests.SharedKernel;

/// <summary>The two pieces the caches' polls share: which entries a pass visits, and when an entry counts as idle.</summary>
[Trait("Category", Categories.Unit)]
public sealed class CacheSweepTests
{
    [Fact]
    public void With_no_more_entries_than_a_pass_visits_every_pass_visits_them_all()
    {
        var rotation = new PollRotation<int, int>(5, i => i);

        Assert.Equal([1, 2, 3, 4, 5], rotation.Next([5, 3, 1, 4, 2]));
        Assert.Equal([1, 2, 3, 4, 5], rotation.Next([5, 3, 1, 4, 2]));
    }

    [Fact]
    public void With_more_entries_each_pass_visits_the_bound_and_every_entry_is_visited_within_the_passes_it_takes()
    {
        var rotation = new PollRotation<int, int>(500, i => i);
        var entries = Enumerable.Range(0, 1_200).Reverse().ToList();

        var passes = Enumerable.Range(0, 3).Select(_ => rotation.Next(entries)).ToList();

        Assert.All(passes, pass => Assert.Equal(500, pass.Count));
        Assert.Equal(Enumerable.Range(0, 500), passes[0]);
        Assert.Equal(Enumerable.Range(500, 500), passes[1]);
        Assert.Equal(Enumerable.Range(1_000, 200).Concat(Enumerable.Range(0, 300)), passes[2]); // wraps around
        Assert.Equal(Enumerable.Range(300, 500), rotation.Next(entries));
    }

    [Fact]
    public void A_pass_goes_on_after_the_last_key_visited_even_when_that_entry_has_gone()
    {
        var rotation = new PollRotation<string, string>(2, s => s, StringComparer.Ordinal);

        Assert.Equal(["a", "b"], rotation.Next(["d", "c", "b", "a"]));
        Assert.Equal(["c", "d"], rotation.Next(["a", "c", "d", "e"])); // b gone, e new
        Assert.Equal(["e", "a"], rotation.Next(["a", "c", "d", "e"]));
    }

    [Fact]
    public void A_pass_visits_at_least_one_entry()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PollRotation<int, int>(0, i => i));
    }

    [Fact]
    public void An_entry_is_idle_only_after_the_idle_time_has_passed_since_the_last_sweep_that_found_it_used()
    {
        var idle = TimeSpan.FromMinutes(5);
        var start = DateTimeOffset.UnixEpoch;
        var mark = new IdleMark();

        Assert.False(mark.IsIdle(start, idle)); // created for a use: that use counts at the first sweep
        Assert.False(mark.IsIdle(start + idle - TimeSpan.FromSeconds(1), idle));
        Assert.True(mark.IsIdle(start + idle, idle));

        mark.Used();
        Assert.False(mark.IsIdle(start + (3 * idle), idle)); // used since the last sweep: counts as used now
        Assert.False(mark.IsIdle(start + (4 * idle) - TimeSpan.FromSeconds(1), idle));
        Assert.True(mark.IsIdle(start + (4 * idle), idle));
    }
}
