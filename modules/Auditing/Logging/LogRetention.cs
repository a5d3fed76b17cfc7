using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Monolith.Auditing.Retention;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Npgsql;
using NpgsqlTypes;

namespace Monolith.Auditing.Logging;

/// <summary>The day partitions of <c>logs.events</c> (UTC days, named <c>events_pYYYYMMDD</c>) and what is done with them.</summary>
internal sealed partial class LogPartitions(PlatformDatabase database)
{
    public const int DaysAhead = 3;
    public const int DeleteBatchSize = 10_000;

    /// <summary>Creates the partitions of the UTC day of <paramref name="now"/> and the next days; moves their rows out of the default partition.</summary>
    public async Task<int> EnsureAheadAsync(DateTimeOffset now, CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand("SELECT logs.ensure_partitions($1, $2)");
        command.Parameters.AddWithValue(DateOnly.FromDateTime(now.UtcDateTime));
        command.Parameters.AddWithValue(DaysAhead);
        return Convert.ToInt32(await command.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlyList<(string Name, DateOnly Day)>> ListDaysAsync(CancellationToken ct)
    {
        await using var command = database.DataSource.CreateCommand(
            """
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'logs.events'::regclass
            """);
        var result = new List<(string, DateOnly)>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var name = reader.GetString(0);
            if (DayPartition().Match(name) is { Success: true } match
                && DateOnly.TryParseExact(match.Groups[1].Value, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            {
                result.Add((name, day));
            }
        }

        return result.OrderBy(p => p.Item2).ToArray();
    }

    /// <summary>
    /// Drops every day partition whose whole day ends at or before <paramref name="cutoff"/> (so no row younger than
    /// it goes), then deletes the default partition's rows older than it. Returns the rows removed (or, dry, that would be).
    /// </summary>
    public async Task<long> DropOlderThanAsync(DateTimeOffset cutoff, bool dryRun, CancellationToken ct)
    {
        long removed = 0;
        foreach (var (name, day) in await ListDaysAsync(ct))
        {
            var end = new DateTimeOffset(day.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            if (end > cutoff)
            {
                break;
            }

            await using var connection = await database.OpenConnectionAsync(ct);
            await using (var count = new NpgsqlCommand($"SELECT count(*) FROM logs.\"{name}\"", connection))
            {
                removed += Convert.ToInt64(await count.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
            }

            if (!dryRun)
            {
                // Dropping a partition locks the parent briefly; give up rather than queue behind a long reader (next run retries).
                await using var drop = new NpgsqlCommand($"SET lock_timeout = '5s'; DROP TABLE IF EXISTS logs.\"{name}\"; RESET lock_timeout", connection);
                await drop.ExecuteNonQueryAsync(ct);
            }
        }

        removed += await DeleteAsync("logs.events_default", "TRUE", [], cutoff, dryRun, ct);
        return removed;
    }

    /// <summary>Deletes, in batches, the rows of <paramref name="table"/> matching <paramref name="condition"/> older than <paramref name="cutoff"/>.</summary>
    public async Task<long> DeleteAsync(string table, string condition, NpgsqlParameter[] parameters, DateTimeOffset cutoff, bool dryRun, CancellationToken ct)
    {
        if (dryRun)
        {
            await using var count = database.DataSource.CreateCommand($"SELECT count(*) FROM {table} WHERE time < @cutoff AND ({condition})");
            count.Parameters.Add(new NpgsqlParameter("cutoff", NpgsqlDbType.TimestampTz) { Value = cutoff.ToUniversalTime() });
            count.Parameters.AddRange(parameters.Select(p => p.Clone()).ToArray());
            return Convert.ToInt64(await count.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
        }

        long removed = 0;
        while (true)
        {
            await using var delete = database.DataSource.CreateCommand(
                $"""
                 WITH doomed AS (SELECT time, id FROM {table} WHERE time < @cutoff AND ({condition}) LIMIT @batch)
                 DELETE FROM {table} e USING doomed d WHERE e.time < @cutoff AND e.time = d.time AND e.id = d.id
                 """);
            delete.Parameters.Add(new NpgsqlParameter("cutoff", NpgsqlDbType.TimestampTz) { Value = cutoff.ToUniversalTime() });
            delete.Parameters.Add(new NpgsqlParameter("batch", NpgsqlDbType.Integer) { Value = DeleteBatchSize });
            delete.Parameters.AddRange(parameters.Select(p => p.Clone()).ToArray());
            var batch = await delete.ExecuteNonQueryAsync(ct);
            removed += batch;
            if (batch < DeleteBatchSize)
            {
                return removed;
            }
        }
    }

    [GeneratedRegex("^events_p([0-9]{8})$", RegexOptions.CultureInvariant)]
    private static partial Regex DayPartition();
}

/// <summary>
/// Log retention (CONTRACT §6), run by the retention job. Globally: whole day partitions older than the longest
/// policy of any tenant (and the default) are dropped, and rows of no live tenant (platform events, deleted
/// tenants) older than the default policy are deleted. Per tenant: that tenant's rows older than its own
/// policy are deleted in batches. Nothing younger than the cutoff that applies to it is ever removed.
/// </summary>
internal sealed class LogRetentionTask(LogPartitions partitions, IOptions<TenancyOptions> options) : IRetentionTask
{
    public const string TaskName = "logs";

    public string Name => TaskName;

    public async Task<RetentionOutcome?> RunGlobalAsync(DateTimeOffset now, IReadOnlyList<TenantInfo> tenants, bool dryRun, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(tenants);
        var defaultDays = options.DefaultLogRetentionDays();
        var longestDays = tenants.Select(t => DaysFor(t, defaultDays)).Append(defaultDays).Max();
        var longestCutoff = now.AddDays(-longestDays);
        var removed = await partitions.DropOlderThanAsync(longestCutoff, dryRun, ct);

        var defaultCutoff = now.AddDays(-defaultDays);
        var live = tenants.Select(t => t.Identifier).ToArray();
        removed += await partitions.DeleteAsync("logs.events", "tenant IS NULL OR NOT (tenant = ANY(@live))",
            [new NpgsqlParameter("live", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = live }], defaultCutoff, dryRun, ct);

        if (!dryRun)
        {
            await partitions.EnsureAheadAsync(now, ct);
        }

        return new RetentionOutcome(TaskName, null, removed, longestCutoff);
    }

    public async Task<RetentionOutcome> RunForTenantAsync(TenantInfo tenant, DateTimeOffset now, bool dryRun, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var cutoff = now.AddDays(-DaysFor(tenant, options.DefaultLogRetentionDays()));
        var removed = await partitions.DeleteAsync("logs.events", "tenant = @tenant",
            [new NpgsqlParameter("tenant", NpgsqlDbType.Text) { Value = tenant.Identifier }], cutoff, dryRun, ct);
        return new RetentionOutcome(TaskName, tenant.Identifier, removed, cutoff);
    }

    private static int DaysFor(TenantInfo tenant, int defaultDays) => tenant.LogRetentionDays is { } days && days > 0 ? days : defaultDays;
}
