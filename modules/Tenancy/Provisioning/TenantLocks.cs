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

    /// <summary>
    /// Waits up to <see cref="Patience"/> for the lock: a migration run passing over the tenant holds it for a
    /// moment, and an operator's create, purge or restore should take its turn rather than fail on that. A tenant
    /// still held after that is being provisioned, deleted or restored by someone else (the caller answers 409).
    /// </summary>
    public static async Task<bool> AcquireWithinPatienceAsync(NpgsqlConnection connection, string identifier, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            if (await TryAcquireAsync(connection, identifier, ct))
            {
                return true;
            }

            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), ct);
        }
    }

    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

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

    /// <summary>
    /// Taken (for the transaction) around granting tenant roles to the request role, granting a tenant role rights on
    /// objects every tenant shares (schema <c>monolith</c>), and dropping a tenant's role: concurrent GRANTs on one object
    /// fail with "tuple concurrently updated". PostgreSQL 15 does not lock a role against a concurrent GRANT of it, so a host starting while a tenant
    /// is purged could try to grant a role that was dropped after it listed the roles (42704, host start fails), or
    /// leave the drop to meet a membership added under it.
    /// </summary>
    public static void LockRoleChanges(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction);
        command.Parameters.AddWithValue(RoleChangesKey);
        command.ExecuteNonQuery();
    }

    public static async Task LockRoleChangesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction);
        command.Parameters.AddWithValue(RoleChangesKey);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// The same lock for a session, around a whole run of the tenant scripts for a new schema (the fallback fill and the
    /// template's build): script 0010 grants on schema monolith early in the run's one long transaction.
    /// </summary>
    public static async Task AcquireRoleChangesAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_lock($1)", connection);
        command.Parameters.AddWithValue(RoleChangesKey);
        await command.ExecuteNonQueryAsync(ct);
    }

    public static async Task ReleaseRoleChangesAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", connection);
        command.Parameters.AddWithValue(RoleChangesKey);
        await command.ExecuteNonQueryAsync();
    }

    // Not a tenant identifier's key: those are hashed with the "monolith-tenant:" prefix.
    public static readonly long RoleChangesKey =
        BinaryPrimitives.ReadInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes("monolith-tenant-roles")));
}
