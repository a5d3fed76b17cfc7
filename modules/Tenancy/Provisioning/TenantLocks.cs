using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Monolith.Tenancy.Provisioning;

/// <summary>
/// Session-level advisory locks per tenant identifier: provisioning, deleting and migrating one tenant
/// never overlap, across every host instance and the CLI. The lock dies with its connection, so a crashed
/// provisioning is recognisable: its row says "provisioning" but nobody holds the lock.
/// </summary>
internal static class TenantLocks
{
    public static long KeyOf(string identifier) =>
        BinaryPrimitives.ReadInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes("monolith-tenant:" + identifier)));

    public static async Task<bool> TryAcquireAsync(NpgsqlConnection connection, string identifier, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", connection);
        command.Parameters.AddWithValue(KeyOf(identifier));
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// Releases explicitly: Npgsql resets a pooled connection lazily (on its next use), so a lock would
    /// otherwise outlive the Dispose of the connection that took it.
    /// </summary>
    public static async Task ReleaseAsync(NpgsqlConnection connection, string identifier)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", connection);
        command.Parameters.AddWithValue(KeyOf(identifier));
        await command.ExecuteNonQueryAsync();
    }

    public static async Task AcquireAsync(NpgsqlConnection connection, string identifier, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_lock($1)", connection);
        command.Parameters.AddWithValue(KeyOf(identifier));
        await command.ExecuteNonQueryAsync(ct);
    }
}
