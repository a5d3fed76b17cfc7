using System.Data;
using Microsoft.EntityFrameworkCore;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Monolith.Toggles.Data;
using Monolith.Toggles.Evaluation;

namespace Monolith.Toggles.Stream;

/// <summary>The reads behind a tenant's feed: everything once, then the keys a notification names. Short transactions on the request pool.</summary>
internal sealed class ToggleFeedReader(TogglesDatabase database, TenantContext tenants, ITenantSettings settings)
{
    private int reads;

    /// <summary>Reads done (tests: one per change per tenant on an instance, however many streams listen).</summary>
    public int Reads => Volatile.Read(ref reads);

    /// <summary>Every defined toggle with its overrides, and the undefined default, in one snapshot.</summary>
    public async Task<(Dictionary<string, ToggleKeyState> Keys, bool UndefinedDefault)> ReadAllAsync(TenantInfo tenant, CancellationToken ct)
    {
        using var scope = tenants.Enter(tenant);
        await using var work = await database.BeginAsync(ct, IsolationLevel.RepeatableRead);
        var keys = await ReadAsync(work.Db, null, ct);
        var undefinedDefault = await settings.ReadAsync(work.Connection, work.Transaction, ToggleStore.UndefinedDefaultSetting, ct) == "true";
        return (keys, undefinedDefault);
    }

    /// <summary>The named keys as they are now; a key that is not defined is absent.</summary>
    public async Task<Dictionary<string, ToggleKeyState>> ReadKeysAsync(TenantInfo tenant, string[] keys, CancellationToken ct)
    {
        using var scope = tenants.Enter(tenant);
        await using var work = await database.BeginAsync(ct, IsolationLevel.RepeatableRead);
        return await ReadAsync(work.Db, keys, ct);
    }

    private async Task<Dictionary<string, ToggleKeyState>> ReadAsync(TogglesDbContext db, string[]? keys, CancellationToken ct)
    {
        Interlocked.Increment(ref reads);
        var toggles = keys is null ? db.Toggles : db.Toggles.Where(t => keys.Contains(t.Key));
        var overrides = keys is null ? db.Overrides : db.Overrides.Where(o => keys.Contains(o.Key));
        var state = await toggles
            .Select(t => new { t.Key, t.Enabled, t.RolloutPercent })
            .ToDictionaryAsync(t => t.Key, t => new ToggleKeyState(new ToggleDefinitionState(t.Enabled, t.RolloutPercent), []), StringComparer.Ordinal, ct);
        await foreach (var o in overrides.Select(o => new { o.Key, o.ProjectId, o.Enabled }).AsAsyncEnumerable().WithCancellation(ct))
        {
            // Overrides reference their definition (ON DELETE CASCADE): the snapshot has it.
            if (state.TryGetValue(o.Key, out var key))
            {
                key.Overrides[o.ProjectId] = o.Enabled;
            }
        }

        return state;
    }
}
