using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tests.Support;
using Monolith.Toggles.Contracts;
using Monolith.Toggles.Evaluation;

namespace Monolith.Tests.Toggles;

/// <summary>Small builders and probes for toggle tests.</summary>
internal static class ToggleTestSupport
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    public static string UniqueKey(string prefix = "feature") => $"{prefix}.{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    /// <summary>Defines (or redefines) a tenant toggle through the API as the given client (admin or owner).</summary>
    public static async Task DefineAsync(this HttpClient admin, string key, bool enabled, string description = "a toggle for tests", int? rolloutPercent = null)
    {
        var response = await admin.PutAsJsonAsync($"/features/{key}", new { description, enabled, rolloutPercent });
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, $"defining {key}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Evaluates through a host's in-process API, in the tenant's context (what another module would do).</summary>
    public static async Task<ToggleEvaluation> EvaluateAsync(this MonolithFactory factory, string tenant, string key, Guid? projectId = null)
    {
        var info = await factory.Services.GetRequiredService<TenantCatalog>().FindAsync(tenant, CancellationToken.None)
            ?? throw new InvalidOperationException($"no tenant {tenant}");
        using var scope = factory.Services.GetRequiredService<TenantContext>().Enter(info);
        return await factory.Services.GetRequiredService<IFeatureToggles>().EvaluateAsync(key, projectId);
    }

    /// <summary>Polls until the condition holds or the deadline passes (bounded wait, no timing assertion).</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan? deadline = null)
    {
        var until = DateTime.UtcNow + (deadline ?? Deadline);
        while (DateTime.UtcNow < until)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(50);
        }

        return await condition();
    }

    /// <summary>Forgets what a host cached (the fixture's reset truncates tables behind its back).</summary>
    public static void ClearToggleCache(this MonolithFactory factory) => factory.Services.GetRequiredService<ToggleCache>().Clear();
}
