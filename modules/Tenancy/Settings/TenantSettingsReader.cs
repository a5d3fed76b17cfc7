using Monolith.Tenancy.Contracts;
using Npgsql;

namespace Monolith.Tenancy.Settings;

internal sealed class TenantSettingsReader : ITenantSettings
{
    public async Task<string?> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string key, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT value::text FROM tenant_settings WHERE key = $1", connection, transaction);
        command.Parameters.AddWithValue(key);
        return await command.ExecuteScalarAsync(ct) as string;
    }
}
