using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.FeatureManagement;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tests.Support;
using Monolith.Toggles.Contracts;

namespace Monolith.Tests.Toggles;

/// <summary>The in-process evaluation API and the Microsoft.FeatureManagement integration.</summary>
[Trait("Category", Categories.Integration)]
public sealed class ToggleEvaluationTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    private const string Alpha = MonolithFixture.Alpha;
    private const string Beta = MonolithFixture.Beta;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Fixture.Factory.ClearToggleCache();
    }

    [Fact]
    public async Task An_undefined_toggle_is_disabled_with_reason_undefined_unless_the_tenant_says_otherwise()
    {
        var key = ToggleTestSupport.UniqueKey();
        Assert.Equal(new ToggleEvaluation(key, false, ToggleReason.Undefined), await Fixture.Factory.EvaluateAsync(Alpha, key, Guid.CreateVersion7()));

        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/settings/toggles.undefined-default", new { value = true })).StatusCode);

        // The setting belongs to Tenancy: its change reaches the toggle cache through the trigger's notification.
        Assert.True(await ToggleTestSupport.EventuallyAsync(async () =>
            await Fixture.Factory.EvaluateAsync(Alpha, key, Guid.CreateVersion7()) == new ToggleEvaluation(key, true, ToggleReason.Undefined)));
        Assert.Equal(new ToggleEvaluation(key, false, ToggleReason.Undefined), await Fixture.Factory.EvaluateAsync(Beta, key));
    }

    [Fact]
    public async Task A_newly_defined_toggle_is_in_force_at_once_with_its_default()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        var project = Guid.CreateVersion7();
        Assert.Equal(ToggleReason.Undefined, (await Fixture.Factory.EvaluateAsync(Alpha, "reports", project)).Reason);

        await admin.DefineAsync("reports", true);

        Assert.Equal(new ToggleEvaluation("reports", true, ToggleReason.Default), await Fixture.Factory.EvaluateAsync(Alpha, "reports", project));
        Assert.Equal(new ToggleEvaluation("reports", true, ToggleReason.Default), await Fixture.Factory.EvaluateAsync(Alpha, "reports"));
    }

    [Fact]
    public async Task The_same_key_is_independent_between_tenants()
    {
        var alphaAdmin = await Fixture.ClientAsAsync(Alpha, "admin");
        var betaAdmin = await Fixture.ClientAsAsync(Beta, "admin");
        await alphaAdmin.DefineAsync("reports", true);
        await betaAdmin.DefineAsync("reports", false);

        Assert.True((await Fixture.Factory.EvaluateAsync(Alpha, "reports")).Enabled);
        Assert.False((await Fixture.Factory.EvaluateAsync(Beta, "reports")).Enabled);

        await betaAdmin.DeleteAsync("/features/reports");
        Assert.Equal(ToggleReason.Default, (await Fixture.Factory.EvaluateAsync(Alpha, "reports")).Reason);
        Assert.Equal(ToggleReason.Undefined, (await Fixture.Factory.EvaluateAsync(Beta, "reports")).Reason);
    }

    [Fact]
    public async Task A_percentage_rollout_gives_projects_a_sticky_share_with_variant_rollout()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.DefineAsync("gradual", false, rolloutPercent: 50);
        var projects = Enumerable.Range(0, 200).Select(_ => Guid.CreateVersion7()).ToList();

        var first = new List<bool>();
        foreach (var project in projects)
        {
            var evaluation = await Fixture.Factory.EvaluateAsync(Alpha, "gradual", project);
            Assert.Equal((ToggleReason.Default, "rollout"), (evaluation.Reason, evaluation.Variant));
            first.Add(evaluation.Enabled);
        }

        Assert.InRange(first.Count(e => e), 60, 140);
        Fixture.Factory.ClearToggleCache();
        var again = new List<bool>();
        foreach (var project in projects)
        {
            again.Add((await Fixture.Factory.EvaluateAsync(Alpha, "gradual", project)).Enabled);
        }

        Assert.Equal(first, again);
    }

    [Fact]
    public async Task A_cached_evaluation_completes_synchronously_and_allocates_nothing()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.DefineAsync("hot", true, rolloutPercent: 50);
        var project = Guid.CreateVersion7();
        var toggles = Fixture.Service<IFeatureToggles>();
        var tenant = (await Fixture.Service<TenantCatalog>().FindAsync(Alpha, CancellationToken.None))!;
        using var scope = Fixture.Service<TenantContext>().Enter(tenant);
        await ServedFromTheCacheAsync(toggles, project);
        Evaluate(toggles, project, 1_000); // warm up (JIT)

        var before = GC.GetAllocatedBytesForCurrentThread();
        var enabled = Evaluate(toggles, project, 10_000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.True(enabled is 0 or 10_000); // sticky: the same answer every time
    }

    /// <summary>
    /// Loads the tenant and the project, then waits until evaluations have been served from the cache for a while: the
    /// definition's change notification reaches this instance asynchronously and may drop the cache once more after the
    /// first load. Fails if the cache never serves.
    /// </summary>
    private static async Task ServedFromTheCacheAsync(IFeatureToggles toggles, Guid project)
    {
        var servedInARow = 0;
        for (var attempt = 0; servedInARow < 20; attempt++)
        {
            Assert.True(attempt < 500, "evaluations were never served from the cache");
            var pending = toggles.EvaluateAsync("hot", project);
            servedInARow = pending.IsCompletedSuccessfully ? servedInARow + 1 : 0;
            await pending;
            await Task.Delay(10);
        }
    }

    private static int Evaluate(IFeatureToggles toggles, Guid project, int times)
    {
        var enabled = 0;
        for (var i = 0; i < times; i++)
        {
#pragma warning disable CA2012 // Read only once it completed synchronously (asserted): that is what this test is about.
            var pending = toggles.EvaluateAsync("hot", project);
            Assert.True(pending.IsCompletedSuccessfully);
            enabled += pending.Result.Enabled ? 1 : 0;
#pragma warning restore CA2012
        }

        return enabled;
    }

    [Fact]
    public async Task Without_a_tenant_in_scope_evaluation_does_not_throw_and_is_disabled()
    {
        var toggles = Fixture.Service<IFeatureToggles>();

        var evaluation = await toggles.EvaluateAsync("reports");

        Assert.Equal(new ToggleEvaluation("reports", false, ToggleReason.Error), evaluation);
    }

    [Fact]
    public async Task Evaluating_a_malformed_key_in_process_does_not_throw_and_is_undefined()
    {
        var evaluation = await Fixture.Factory.EvaluateAsync(Alpha, "Not A Key!");

        Assert.Equal(ToggleReason.Undefined, evaluation.Reason);
        Assert.False(evaluation.Enabled);
    }

    [Fact]
    public async Task Feature_management_gates_follow_the_toggles_of_the_current_tenant()
    {
        var admin = await Fixture.ClientAsAsync(Alpha, "admin");
        await admin.DefineAsync("beta-ui", true);
        var features = Fixture.Service<IFeatureManager>();
        var catalog = Fixture.Service<TenantCatalog>();
        var tenants = Fixture.Service<TenantContext>();

        using (tenants.Enter((await catalog.FindAsync(Alpha, CancellationToken.None))!))
        {
            Assert.True(await features.IsEnabledAsync("beta-ui"));
            Assert.False(await features.IsEnabledAsync("never-defined"));
            using (ToggleScope.EnterProject(Guid.CreateVersion7()))
            {
                Assert.True(await features.IsEnabledAsync("beta-ui"));
            }

            var names = new List<string>();
            await foreach (var name in features.GetFeatureNamesAsync())
            {
                names.Add(name);
            }

            Assert.Equal(["beta-ui"], names);
            await admin.DefineAsync("beta-ui", false);
            Assert.False(await features.IsEnabledAsync("beta-ui"));
        }

        using (tenants.Enter((await catalog.FindAsync(Beta, CancellationToken.None))!))
        {
            Assert.False(await features.IsEnabledAsync("beta-ui"));
        }
    }
}
