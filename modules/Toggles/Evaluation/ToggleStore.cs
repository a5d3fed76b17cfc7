using System.Collections.Frozen;
using System.Data;
using Monolith.Tenancy;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Toggles.Evaluation;

/// <summary>Reads what the evaluation cache holds, through the tenant in scope's connection.</summary>
internal sealed class ToggleStore(TenantDatabase database, TenantContext tenants, ITenantSettings settings)
{
    public const string UndefinedDefaultSetting = "toggles.undefined-default";

    /// <summary>
    /// Version, undefined default (Tenancy's setting, read through its contract on this transaction) and definitions in
    /// one snapshot (repeatable read), so the version names exactly what was read.
    /// </summary>
    public async Task<TenantToggles> LoadTenantAsync(CancellationToken ct)
    {
        var tenant = tenants.Required;
        await using var session = await database.BeginAsync(IsolationLevel.RepeatableRead, ct);
        var (connection, transaction) = (session.Connection, session.Transaction);
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("SELECT COALESCE((SELECT version FROM feature_toggle_state WHERE id = 1), 0)"),
                new NpgsqlBatchCommand("SELECT key, enabled, rollout_percent FROM feature_toggles"),
            },
        };
        // The snapshot is taken by the transaction's first statement: the setting is read after the batch, in it.
        await using var reader = await batch.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var version = reader.GetInt64(0);
        await reader.NextResultAsync(ct);
        var rules = new Dictionary<string, ToggleRule>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            var key = reader.GetString(0);
            rules[key] = new ToggleRule(key, reader.GetBoolean(1), reader.IsDBNull(2) ? null : reader.GetInt16(2));
        }

        await reader.CloseAsync();
        var undefinedDefault = await settings.ReadAsync(connection, transaction, UndefinedDefaultSetting, ct) == "true";
        var keys = rules.Keys.ToArray();
        Array.Sort(keys, StringComparer.Ordinal);
        return new TenantToggles(tenant.Id, version, undefinedDefault, rules.ToFrozenDictionary(StringComparer.Ordinal), keys) { Tenant = tenant };
    }

    /// <summary>Records that these keys were evaluated now (keys deleted meanwhile are skipped).</summary>
    public async Task RecordUsageAsync(IReadOnlyList<string> keys, CancellationToken ct)
    {
        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO feature_toggle_usage (key, last_evaluated_at)
            SELECT t.key, now() FROM feature_toggles t WHERE t.key = ANY($1)
            ON CONFLICT (key) DO UPDATE SET last_evaluated_at = excluded.last_evaluated_at
            """, connection);
        command.Parameters.AddWithValue(keys.ToArray());
        await command.ExecuteNonQueryAsync(ct);
        await session.CommitAsync(ct);
    }

    public async Task<FrozenDictionary<string, bool>> LoadProjectAsync(Guid projectId, CancellationToken ct)
    {
        await using var session = await database.BeginAsync(ct);
        var connection = session.Connection;
        await using var command = new NpgsqlCommand("SELECT key, enabled FROM feature_overrides WHERE project_id = $1", connection);
        command.Parameters.AddWithValue(projectId);
        await using var reader = await command.ExecuteReaderAsync(ct);
        Dictionary<string, bool>? overrides = null;
        while (await reader.ReadAsync(ct))
        {
            (overrides ??= new Dictionary<string, bool>(StringComparer.Ordinal))[reader.GetString(0)] = reader.GetBoolean(1);
        }

        return overrides is null ? TenantToggles.Empty : overrides.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
