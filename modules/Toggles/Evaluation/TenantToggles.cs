using System.Collections.Concurrent;
using System.Collections.Frozen;
using Monolith.SharedKernel.Caching;
using Monolith.Tenancy.Catalog;
using Monolith.Toggles.Contracts;

namespace Monolith.Toggles.Evaluation;

/// <summary>A definition as evaluation needs it. <see cref="Evaluated"/> is set (1) by evaluation and taken back by the usage flusher.</summary>
internal sealed record ToggleRule(string Key, bool Enabled, int? RolloutPercent)
{
    public int Evaluated;
}

/// <summary>
/// One tenant's toggle state as cached on this instance: its definitions (read in one snapshot with the
/// state's version) and, loaded lazily, the overrides of the projects evaluated here. Immutable apart from
/// the per-project map; the whole object is dropped when the tenant's toggles change.
/// </summary>
internal sealed class TenantToggles(Guid tenantId, long version, bool undefinedDefault, FrozenDictionary<string, ToggleRule> rules, string[] sortedKeys)
{
    public const int MaxProjects = 20_000;

    private static readonly FrozenDictionary<string, bool> NoOverrides = FrozenDictionary<string, bool>.Empty;

    public Guid TenantId { get; } = tenantId;

    /// <summary>The tenant the state was loaded for (the usage flusher writes through it).</summary>
    public TenantInfo? Tenant { get; init; }

    public long Version { get; } = version;

    public bool UndefinedDefault { get; } = undefinedDefault;

    public FrozenDictionary<string, ToggleRule> Rules { get; } = rules;

    /// <summary>Defined keys in ordinal order (for paged listings).</summary>
    public string[] SortedKeys { get; } = sortedKeys;

    public ConcurrentDictionary<Guid, FrozenDictionary<string, bool>> Projects { get; } = new();

    public static FrozenDictionary<string, bool> Empty => NoOverrides;

    /// <summary>Whether the state has gone unused long enough for <see cref="ToggleCache.ForgetIdle"/> to drop it.</summary>
    public IdleMark Idle { get; } = new();

    /// <summary>Keys evaluated since the last call, unmarking them.</summary>
    public List<string> TakeEvaluated()
    {
        var keys = new List<string>();
        foreach (var rule in Rules.Values)
        {
            if (Interlocked.Exchange(ref rule.Evaluated, 0) == 1)
            {
                keys.Add(rule.Key);
            }
        }

        return keys;
    }

    public void AddProject(Guid projectId, FrozenDictionary<string, bool> overrides)
    {
        if (Projects.Count >= MaxProjects)
        {
            Projects.Clear();
        }

        Projects[projectId] = overrides;
    }

    /// <summary>The evaluation rule: project override, then the definition (with its rollout), then the tenant's undefined default.</summary>
    public ToggleEvaluation Evaluate(string key, Guid? projectId, FrozenDictionary<string, bool>? overrides)
    {
        if (!Rules.TryGetValue(key, out var rule))
        {
            return new ToggleEvaluation(key, UndefinedDefault, ToggleReason.Undefined);
        }

        if (rule.Evaluated == 0)
        {
            rule.Evaluated = 1; // read first: no write (and no cache-line traffic) once marked
        }

        if (overrides is not null && overrides.TryGetValue(key, out var overridden))
        {
            return new ToggleEvaluation(key, overridden, ToggleReason.Override);
        }

        if (rule.RolloutPercent is { } percent && projectId is { } project)
        {
            return new ToggleEvaluation(key, Rollout.IsIn(key, project, percent), ToggleReason.Default, Rollout.Variant);
        }

        return new ToggleEvaluation(key, rule.Enabled, ToggleReason.Default);
    }
}
