using Npgsql;

namespace Monolith.Tenancy.Notifications;

/// <summary>
/// Many tenants' state versions in one round trip, for a cache's poll (docs/adr/0072): <c>platform.state_versions</c>, the
/// server's copy of each tenant schema's one-row state table (<c>access_state</c>, <c>feature_toggle_state</c>), which a
/// trigger on that table keeps in the changing transaction. The poll compares these with the versions its entries were
/// read at; it never opens a tenant's table, so a polling backend does not cache every tenant's schema.
/// </summary>
public static class StateVersions
{
    /// <summary>
    /// The version of <paramref name="stateTable"/> in each of <paramref name="schemas"/>, in order; null where the schema
    /// is gone or its table is not mirrored (not migrated yet): forget what is cached of those. Run as the owner. A lock it
    /// cannot have within 100 ms (a migration on a tenant it fills a missing copy for) fails it with a
    /// <see cref="PostgresException"/> rather than making the poll wait.
    /// </summary>
    public static async Task<long?[]> ReadAsync(NpgsqlConnection connection, string stateTable, IReadOnlyList<string> schemas, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(schemas);
        var versions = new long?[schemas.Count];
        if (schemas.Count == 0)
        {
            return versions;
        }

        // Committed: a copy filled in for a schema that had none is kept for the next poll.
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT set_config('lock_timeout', '100ms', true)"));
            var read = new NpgsqlBatchCommand("SELECT ordinal, version FROM platform.state_versions_of($1::name, $2)");
            read.Parameters.AddWithValue(stateTable);
            read.Parameters.AddWithValue(schemas as string[] ?? [.. schemas]);
            batch.BatchCommands.Add(read);
            await using var reader = await batch.ExecuteReaderAsync(ct);
            await reader.NextResultAsync(ct); // past the lock timeout's result
            while (await reader.ReadAsync(ct))
            {
                versions[reader.GetInt32(0) - 1] = reader.IsDBNull(1) ? null : reader.GetInt64(1);
            }
        }

        await transaction.CommitAsync(ct);
        return versions;
    }
}
