using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Npgsql;

namespace Monolith.Access.Sessions;

/// <summary>
/// A restored tenant starts with no live session: the backup holds the original's sessions and refresh-token hashes, and
/// a refresh token of the original must never sign anyone in to the copy. Its users sign in again with their passwords.
/// </summary>
internal sealed class EndSessionsOfRestoredTenant : ITenantRestoreStep
{
    public async Task AfterRestoreAsync(TenantInfo tenant, NpgsqlTransaction transaction, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            """
            UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND spent_at IS NULL;
            UPDATE sessions SET ended_at = now(), end_reason = 'restored' WHERE ended_at IS NULL;
            """, transaction.Connection, transaction);
        await command.ExecuteNonQueryAsync(ct);
    }
}
