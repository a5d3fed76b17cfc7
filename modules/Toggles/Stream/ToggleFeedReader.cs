using System.Data;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Isolation;
using Monolith.Toggles.Evaluation;
using Npgsql;

namespace Monolith.Toggles.Stream;

/// <summary>The reads behind a tenant's feed: everything once, then the keys a notification names. Short transactions on the request pool.</summary>
internal sealed class ToggleFeedReader(TenantDatabase database, TenantContext tenants, ITenantSettings settings)
{
    private int reads;

    /// <summary>Reads done (tests: one per change per tenant on an instance, however many streams listen).</summary>
    public int Reads => Volatile.Read(ref reads);

    /// <summary>Every defined toggle with its overrides, and the undefined default, in one snapshot.</summary>
    public async Task<(Dictionary<string, ToggleKeyState> Keys, bool UndefinedDefault)> ReadAllAsync(TenantInfo tenant, CancellationToken ct)
    {
        using var scope = tenants.Enter(tenant);
        await using var unit = await database.BeginAsync(IsolationLevel.RepeatableRead, ct);
        var keys = await ReadAsync(unit, null, ct);
        var undefinedDefault = await settings.ReadAsync(unit.Connection, unit.Transaction, ToggleStore.UndefinedDefaultSetting, ct) == "true";
        return (keys, undefinedDefault);
    }

    /// <summary>The named keys as they are now; a key that is not defined is absent.</summary>
    public async Task<Dictionary<string, ToggleKeyState>> ReadKeysAsync(TenantInfo tenant, string[] keys, CancellationToken ct)
    {
        using var scope = tenants.Enter(tenant);
        await using var unit = await database.BeginAsync(IsolationLevel.RepeatableRead, ct);
        return await ReadAsync(unit, keys, ct);
    }

    private async Task<Dictionary<string, ToggleKeyState>> ReadAsync(TenantConnection unit, string[]? keys, CancellationToken ct)
    {
        Interlocked.Increment(ref reads);
        var filter = keys is null ? string.Empty : " WHERE key = ANY($1)";
        await using var batch = new NpgsqlBatch(unit.Connection, unit.Transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("SELECT key, enabled, rollout_percent FROM feature_toggles" + filter),
                new NpgsqlBatchCommand("SELECT key, project_id, enabled FROM feature_overrides" + filter),
            },
        };
        if (keys is not null)
        {
            batch.BatchCommands[0].Parameters.AddWithValue(keys);
            batch.BatchCommands[1].Parameters.AddWithValue(keys);
        }

        var state = new Dictionary<string, ToggleKeyState>(StringComparer.Ordinal);
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var definition = new ToggleDefinitionState(reader.GetBoolean(1), reader.IsDBNull(2) ? null : reader.GetInt16(2));
            state[reader.GetString(0)] = new ToggleKeyState(definition, []);
        }

        await reader.NextResultAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            // Overrides reference their definition (ON DELETE CASCADE): the snapshot has it.
            if (state.TryGetValue(reader.GetString(0), out var key))
            {
                key.Overrides[reader.GetGuid(1)] = reader.GetBoolean(2);
            }
        }

        return state;
    }
}
