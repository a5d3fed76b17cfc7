using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.FeatureManagement;
using Monolith.Tenancy;
using Monolith.Toggles.Contracts;
using Monolith.Toggles.Evaluation;

namespace Monolith.Toggles.FeatureManagement;

/// <summary>
/// Microsoft.FeatureManagement reads its features from the toggles of the tenant in scope: every feature
/// name is defined, with the one filter <see cref="TogglesFeatureFilter"/>, so <c>IFeatureManager</c>,
/// <c>WithFeatureGate</c> and <c>[FeatureGate]</c> answer exactly what <see cref="IFeatureToggles"/> answers.
/// Deliberately not cacheable (no IFeatureDefinitionProviderCacheable): the toggle cache is the cache.
/// </summary>
internal sealed class TogglesFeatureDefinitionProvider(ToggleCache cache, TenantContext tenants) : IFeatureDefinitionProvider
{
    public Task<FeatureDefinition> GetFeatureDefinitionAsync(string featureName) => Task.FromResult(Define(featureName));

    public async IAsyncEnumerable<FeatureDefinition> GetAllFeatureDefinitionsAsync()
    {
        if (tenants.Current is null)
        {
            yield break;
        }

        var state = await cache.GetTenantAsync(CancellationToken.None);
        foreach (var key in state.SortedKeys)
        {
            yield return Define(key);
        }
    }

    private static FeatureDefinition Define(string name) => new()
    {
        Name = name,
        EnabledFor = [new FeatureFilterConfiguration { Name = TogglesFeatureFilter.Alias }],
    };
}

/// <summary>
/// Evaluates a feature as a toggle for the current tenant and project: the project is the route value
/// <c>projectId</c> of the current request, else <see cref="ToggleScope.CurrentProject"/>, else none (tenant-wide).
/// </summary>
[FilterAlias(Alias)]
internal sealed class TogglesFeatureFilter(IFeatureToggles toggles, IHttpContextAccessor http) : IFeatureFilter
{
    public const string Alias = "Monolith.Toggles";

    public async Task<bool> EvaluateAsync(FeatureFilterEvaluationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var evaluation = await toggles.EvaluateAsync(context.FeatureName, CurrentProject(), context.CancellationToken);
        return evaluation.Enabled;
    }

    private Guid? CurrentProject()
    {
        if (http.HttpContext?.Request.RouteValues.TryGetValue("projectId", out var value) == true
            && Guid.TryParse(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture), out var project))
        {
            return project;
        }

        return ToggleScope.CurrentProject;
    }
}
