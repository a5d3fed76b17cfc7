using System.Text.RegularExpressions;
using Npgsql;

namespace Monolith.Tenancy.Provisioning;

/// <summary>What a move's catch-up carried over under the freeze: rows written and rows removed on the target.</summary>
internal sealed record CatchUpCounts(long Upserted, long Deleted);

/// <summary>
/// Brings a tenant's copy on a move's target up to date with its source under the write freeze (docs/adr/0067). The
/// copy was loaded from a backup dumped at a snapshot while the tenant kept writing; what changed since is found by each
/// row's <c>xmin</c>: a row version the snapshot could not see was written after it. Rows the source no longer has are
/// deleted (only looked for when the counts say some are gone), then those rows are written by primary key, and
/// sequences are set. Two existing rows that swapped a unique value meanwhile fail the catch-up (PostgreSQL checks
/// such a key row by row); the move then fails as a whole and can be run again. The target's own triggers are off meanwhile: the rows already hold what the source's triggers wrote (the audit
/// trail's entries among them), and running them again would write it twice. All of it runs in the caller's two
/// transactions: the source's, which holds the freeze, and the target's, which commits the copy or nothing.
/// </summary>
internal static partial class MoveCatchUp
{
    private sealed record Table(string Name, string[] Columns, string[] Key, bool IdentityAlways);

    /// <summary>
    /// <paramref name="snapshot"/> is <c>pg_current_snapshot()</c> of the transaction the backup was dumped at.
    /// </summary>
    public static async Task<CatchUpCounts> ApplyAsync(
        string schema, string snapshot, NpgsqlTransaction source, NpgsqlTransaction target, CancellationToken ct)
    {
        if (!SnapshotText().IsMatch(snapshot))
        {
            throw new ArgumentException($"'{snapshot}' is not a pg_snapshot.", nameof(snapshot));
        }

        var tables = await TablesAsync(schema, source, ct);
        var parentsFirst = ParentsFirst(tables, await ForeignKeysAsync(schema, source, ct));
        var changedSince = await ChangedSinceAsync(snapshot, source, ct);

        foreach (var table in tables.Values)
        {
            await ExecuteAsync(target, $"ALTER TABLE {table.Name} DISABLE TRIGGER USER", ct);
        }

        // Rows written since the snapshot, into a temporary table on the target each; then what the counts say is gone.
        var gone = new HashSet<string>(StringComparer.Ordinal);
        long upserted = 0;
        foreach (var (table, index) in parentsFirst.Select((t, i) => (t, i)))
        {
            var changed = Temporary("changed", index);
            await ExecuteAsync(target, $"CREATE TEMP TABLE {changed} ON COMMIT DROP AS SELECT {string.Join(", ", table.Columns)} FROM {table.Name} WITH NO DATA", ct);
            await CopyAsync(source, $"SELECT {string.Join(", ", table.Columns)} FROM {table.Name} WHERE {changedSince}", target, changed, ct);

            var sourceCount = await ScalarAsync(source, $"SELECT count(*) FROM {table.Name}", ct);
            var keyMatch = string.Join(" AND ", table.Key.Select(k => $"t.{k} = c.{k}"));
            // The target holds the snapshot's rows: minus those the source deleted, plus the changed rows it lacks, it
            // must count what the source counts now.
            var (targetCount, changedCount, matched) = await CountsAsync(target,
                $"SELECT (SELECT count(*) FROM {table.Name}), (SELECT count(*) FROM {changed}), " +
                $"(SELECT count(*) FROM {changed} c WHERE EXISTS (SELECT 1 FROM {table.Name} t WHERE {keyMatch}))", ct);
            var deleted = targetCount - sourceCount + (changedCount - matched);
            if (deleted > 0)
            {
                gone.Add(table.Name);
            }

            upserted += changedCount;
        }

        // Deletes first, since a unique value a deleted row frees may be taken by a changed row; children before parents,
        // for the foreign keys.
        long deletedRows = 0;
        foreach (var (table, index) in parentsFirst.Select((t, i) => (t, i)).Reverse())
        {
            if (!gone.Contains(table.Name))
            {
                continue;
            }

            var keys = Temporary("keys", index);
            await ExecuteAsync(target, $"CREATE TEMP TABLE {keys} ON COMMIT DROP AS SELECT {string.Join(", ", table.Key)} FROM {table.Name} WITH NO DATA", ct);
            await CopyAsync(source, $"SELECT {string.Join(", ", table.Key)} FROM {table.Name}", target, keys, ct);
            deletedRows += await ExecuteAsync(target,
                $"DELETE FROM {table.Name} t WHERE NOT EXISTS (SELECT 1 FROM {keys} c WHERE {string.Join(" AND ", table.Key.Select(k => $"t.{k} = c.{k}"))})", ct);
        }

        // Rows that exist on the target are updated before new rows are inserted: a unique value an update frees may be
        // what a new row takes.
        foreach (var (table, index) in parentsFirst.Select((t, i) => (t, i)))
        {
            var changed = Temporary("changed", index);
            var keyMatch = string.Join(" AND ", table.Key.Select(k => $"t.{k} = c.{k}"));
            var others = table.Columns.Except(table.Key).ToArray();
            if (others.Length > 0)
            {
                await ExecuteAsync(target,
                    $"UPDATE {table.Name} t SET {string.Join(", ", others.Select(c => $"{c} = c.{c}"))} FROM {changed} c WHERE {keyMatch}", ct);
            }

            await ExecuteAsync(target,
                $"INSERT INTO {table.Name} ({string.Join(", ", table.Columns)}) {(table.IdentityAlways ? "OVERRIDING SYSTEM VALUE " : "")}" +
                $"SELECT {string.Join(", ", table.Columns.Select(c => $"c.{c}"))} FROM {changed} c " +
                $"WHERE NOT EXISTS (SELECT 1 FROM {table.Name} t WHERE {keyMatch})", ct);
        }

        foreach (var table in tables.Values)
        {
            await ExecuteAsync(target, $"ALTER TABLE {table.Name} ENABLE TRIGGER USER", ct);
        }

        await SetSequencesAsync(schema, source, target, ct);
        return new CatchUpCounts(upserted, deletedRows);
    }

    /// <summary>
    /// A predicate true for a row version written by a transaction the snapshot could not see. <c>xmin</c> is a 32-bit
    /// xid; its epoch is the freeze's (or the one before, for an xid above the freeze's next xid), which makes the
    /// <c>xid8</c> <c>pg_visible_in_snapshot</c> takes.
    /// </summary>
    private static async Task<string> ChangedSinceAsync(string snapshot, NpgsqlTransaction source, CancellationToken ct)
    {
        var next = await ScalarAsync(source, "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint", ct);
        var epoch = next >> 32;
        var low = next & 0xFFFF_FFFFL;
        return $"NOT pg_visible_in_snapshot(((({epoch} - (xmin::text::bigint >= {low})::int) << 32) | xmin::text::bigint)::text::xid8, '{snapshot}'::pg_snapshot)";
    }

    private static async Task<Dictionary<string, Table>> TablesAsync(string schema, NpgsqlTransaction source, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT c.oid::regclass::text,
                   array_agg(quote_ident(a.attname) ORDER BY a.attnum) FILTER (WHERE a.attgenerated = ''),
                   (SELECT array_agg(quote_ident(k.attname) ORDER BY k.attnum)
                      FROM pg_index i JOIN pg_attribute k ON k.attrelid = i.indrelid AND k.attnum = ANY (i.indkey)
                     WHERE i.indrelid = c.oid AND i.indisprimary),
                   bool_or(a.attidentity = 'a')
              FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
             GROUP BY c.oid
            """, source.Connection, source);
        command.Parameters.AddWithValue(schema);
        var tables = new Dictionary<string, Table>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var name = reader.GetString(0);
            var key = reader.IsDBNull(2)
                ? throw new InvalidOperationException($"Table {name} has no primary key: a move cannot catch its changes up.")
                : reader.GetFieldValue<string[]>(2);
            tables[name] = new Table(name, reader.GetFieldValue<string[]>(1), key, reader.GetBoolean(3));
        }

        return tables;
    }

    private static async Task<List<(string Child, string Parent)>> ForeignKeysAsync(string schema, NpgsqlTransaction source, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
             WHERE contype = 'f' AND conrelid <> confrelid AND connamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
            """, source.Connection, source);
        command.Parameters.AddWithValue(schema);
        var edges = new List<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            edges.Add((reader.GetString(0), reader.GetString(1)));
        }

        return edges;
    }

    /// <summary>Tables ordered so each comes after the tables its foreign keys name (those of other schemas aside).</summary>
    internal static List<T> ParentsFirst<T>(IReadOnlyDictionary<string, T> tables, IEnumerable<(string Child, string Parent)> edges)
    {
        var parents = tables.Keys.ToDictionary(name => name, _ => new HashSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var (child, parent) in edges)
        {
            if (parents.TryGetValue(child, out var of) && tables.ContainsKey(parent))
            {
                of.Add(parent);
            }
        }

        var ordered = new List<T>(tables.Count);
        var placed = new HashSet<string>(StringComparer.Ordinal);
        while (placed.Count < tables.Count)
        {
            var ready = parents.Keys.Where(name => !placed.Contains(name) && parents[name].All(placed.Contains)).Order(StringComparer.Ordinal).ToList();
            if (ready.Count == 0)
            {
                throw new InvalidOperationException(
                    $"The foreign keys between {string.Join(", ", parents.Keys.Where(n => !placed.Contains(n)).Order(StringComparer.Ordinal))} form a cycle: a move cannot order their rows.");
            }

            foreach (var name in ready)
            {
                placed.Add(name);
                ordered.Add(tables[name]);
            }
        }

        return ordered;
    }

    private static async Task SetSequencesAsync(string schema, NpgsqlTransaction source, NpgsqlTransaction target, CancellationToken ct)
    {
        var sequences = new List<string>();
        await using (var list = new NpgsqlCommand(
            "SELECT c.oid::regclass::text FROM pg_class c WHERE c.relkind = 'S' AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)",
            source.Connection, source))
        {
            list.Parameters.AddWithValue(schema);
            await using var reader = await list.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                sequences.Add(reader.GetString(0));
            }
        }

        foreach (var name in sequences)
        {
            await using var read = new NpgsqlCommand($"SELECT last_value, is_called FROM {name}", source.Connection, source);
            await using var reader = await read.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            var (value, called) = (reader.GetInt64(0), reader.GetBoolean(1));
            await reader.CloseAsync();
            await using var set = new NpgsqlCommand("SELECT setval($1::regclass, $2, $3)", target.Connection, target);
            set.Parameters.AddWithValue(name);
            set.Parameters.AddWithValue(value);
            set.Parameters.AddWithValue(called);
            await set.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>Streams a query's rows from the source into a table of the target (COPY text format: portable between clusters).</summary>
    private static async Task CopyAsync(NpgsqlTransaction source, string query, NpgsqlTransaction target, string into, CancellationToken ct)
    {
        using var from = await source.Connection!.BeginTextExportAsync($"COPY ({query}) TO STDOUT", ct);
        await using var to = await target.Connection!.BeginTextImportAsync($"COPY {into} FROM STDIN", ct);
        var buffer = new char[64 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer, ct)) > 0)
        {
            await to.WriteAsync(buffer.AsMemory(0, read), ct);
        }
    }

    private static string Temporary(string kind, int index) => $"pg_temp.move_{kind}_{index}";

    private static async Task<int> ExecuteAsync(NpgsqlTransaction transaction, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, transaction.Connection, transaction);
        return await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<long> ScalarAsync(NpgsqlTransaction transaction, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, transaction.Connection, transaction);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    private static async Task<(long, long, long)> CountsAsync(NpgsqlTransaction transaction, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, transaction.Connection, transaction);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    [GeneratedRegex(@"^\d+:\d+:(\d+(,\d+)*)?$")]
    private static partial Regex SnapshotText();
}
