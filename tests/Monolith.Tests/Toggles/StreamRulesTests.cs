using Monolith.Tests.Support;
using Monolith.Toggles.Contracts;
using Monolith.Toggles.Evaluation;
using Monolith.Toggles.Stream;

namespace Monolith.Tests.Toggles;

/// <summary>The stream's pure rules: which events turn one state of a key into the next, and what a full queue does.</summary>
[Trait("Category", Categories.Unit)]
public sealed class StreamRulesTests
{
    private static readonly Guid P = Guid.CreateVersion7();
    private static readonly Guid Q = Guid.CreateVersion7();

    [Fact]
    public void A_definition_change_is_one_tenant_level_event_and_projects_with_an_override_are_not_repeated()
    {
        var events = Diff(State(true, (P, false)), State(false, (P, false)));

        Assert.Equal([new ToggleChangeEvent("k", null, false, ToggleReason.Default)], events);
    }

    [Fact]
    public void Overrides_set_changed_and_removed_are_project_events_with_the_evaluation_after_them()
    {
        var events = Diff(State(true, (P, false)), State(true, (Q, true)));

        Assert.Equal(2, events.Count);
        Assert.Contains(new ToggleChangeEvent("k", Q, true, ToggleReason.Override), events);
        Assert.Contains(new ToggleChangeEvent("k", P, true, ToggleReason.Default), events);
    }

    [Fact]
    public void A_removed_override_under_a_rollout_evaluates_the_rollout_for_its_project()
    {
        var before = new ToggleKeyState(new ToggleDefinitionState(false, 50), new Dictionary<Guid, bool> { [P] = true });
        var after = new ToggleKeyState(new ToggleDefinitionState(false, 50), []);

        var events = Diff(before, after);

        Assert.Equal([new ToggleChangeEvent("k", P, Rollout.IsIn("k", P, 50), ToggleReason.Default)], events);
    }

    [Fact]
    public void A_deleted_toggle_is_undefined_for_the_tenant_and_for_each_project_that_had_an_override()
    {
        var events = Diff(State(true, (P, true)), null, undefinedDefault: true);

        Assert.Equal(2, events.Count);
        Assert.Contains(new ToggleChangeEvent("k", null, true, ToggleReason.Undefined), events);
        Assert.Contains(new ToggleChangeEvent("k", P, true, ToggleReason.Undefined), events);
    }

    [Fact]
    public void An_unchanged_key_makes_no_event()
    {
        Assert.Empty(Diff(State(true, (P, true)), State(true, (P, true))));
        Assert.Empty(Diff(null, null));
    }

    [Fact]
    public void A_stream_whose_queue_is_full_is_closed_as_lagging_instead_of_dropping_events()
    {
        var left = 0;
        using var subscription = new ToggleStreamSubscription(2, _ => left++);
        var change = new ToggleChangeEvent("k", null, true, ToggleReason.Default);

        Assert.True(subscription.TryPublish(change));
        Assert.True(subscription.TryPublish(change));
        Assert.False(subscription.TryPublish(change));

        Assert.True(subscription.Closed.IsCancellationRequested);
        Assert.Equal(ToggleStreamSubscription.Lagging, subscription.CloseReason);
        subscription.Dispose();
        Assert.Equal(1, left);
    }

    private static ToggleKeyState State(bool enabled, params (Guid Project, bool Enabled)[] overrides) =>
        new(new ToggleDefinitionState(enabled, null), overrides.ToDictionary(o => o.Project, o => o.Enabled));

    private static List<ToggleChangeEvent> Diff(ToggleKeyState? before, ToggleKeyState? after, bool undefinedDefault = false)
    {
        var events = new List<ToggleChangeEvent>();
        ToggleChanges.Diff("k", before, after, undefinedDefault, events);
        return events;
    }
}
