using System.Collections.Frozen;
using System.Data;
using Microsoft.EntityFrameworkCore;
using Monolith.Tenancy;
using Monolith.Tenancy.Contracts;
using Monolith.Toggles.Data;

namespace Monolith.Toggles.Evaluation;

/// <summary>Reads what the evaluation cache holds, through the tenant in scope's connection.</summary>
internal sealed class ToggleStore(TogglesDatabase database, TenantContext tenants, ITenantSettings settings)
{
    public const string UndefinedDefaultSetting = "toggles.undefined-default";

    /// <summary>
    /// Version, undefined default (Tenancy's setting, read through its contract on this transaction) and definitions in
    /// one snapshot (repeatable read), so the version names exactly what was read.
    /// </summary>
    public async Task<TenantToggles> LoadTenantAsync(CancellationToken ct)
    {
        var tenant = tenants.Required;
        await using var work = await database.BeginAsync(ct, IsolationLevel.RepeatableRead);
        // The snapshot is taken by the transaction's first statement: the rules and the setting are read after it, in it.
        var version = await work.Db.State.Where(s => s.Id == 1).Select(s => (long?)s.Version).FirstOrDefaultAsync(ct) ?? 0;
        var rules = await work.Db.Toggles
            .Select(t => new { t.Key, t.Enabled, t.RolloutPercent })
            .ToDictionaryAsync(t => t.Key, t => new ToggleRule(t.Key, t.Enabled, t.RolloutPercent), StringComparer.Ordinal, ct);
        var undefinedDefault = await settings.ReadAsync(work.Connection, work.Transaction, UndefinedDefaultSetting, ct) == "true";
        var keys = rules.Keys.ToArray();
        Array.Sort(keys, StringComparer.Ordinal);
        return new TenantToggles(tenant.Id, version, undefinedDefault, rules.ToFrozenDictionary(StringComparer.Ordinal), keys) { Tenant = tenant };
    }

    /// <summary>Records that these keys were evaluated now (keys deleted meanwhile are skipped).</summary>
    public async Task RecordUsageAsync(IReadOnlyList<string> keys, CancellationToken ct)
    {
        await using var work = await database.BeginAsync(ct);
        await work.Db.Database.ExecuteSqlAsync(
            $"""
             INSERT INTO feature_toggle_usage (key, last_evaluated_at)
             SELECT t.key, now() FROM feature_toggles t WHERE t.key = ANY({keys.ToArray()})
             ON CONFLICT (key) DO UPDATE SET last_evaluated_at = excluded.last_evaluated_at
             """, ct);
        await work.CommitAsync(ct);
    }

    public async Task<FrozenDictionary<string, bool>> LoadProjectAsync(Guid projectId, CancellationToken ct)
    {
        await using var work = await database.BeginAsync(ct);
        var overrides = await work.Db.Overrides
            .Where(o => o.ProjectId == projectId)
            .Select(o => new { o.Key, o.Enabled })
            .ToDictionaryAsync(o => o.Key, o => o.Enabled, StringComparer.Ordinal, ct);
        return overrides.Count == 0 ? TenantToggles.Empty : overrides.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
