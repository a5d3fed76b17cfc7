using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Monolith.Tenancy.Backups;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Operators;
using Monolith.Tenancy.Placement;
using Npgsql;

namespace Monolith.Tenancy.Provisioning;

/// <summary>What a finished move did: where from and to, how long the tenant's writes were frozen, the backup it copied from, and
/// what the freeze caught up (rows written and deleted while the copy was made).</summary>
internal sealed record TenantMoveOutcome(string From, string To, TimeSpan Frozen, TimeSpan Total, Guid BackupId, long CaughtUpRows, long CaughtUpDeletes);

/// <summary>
/// Moves a live tenant to another server of the placement map (docs/adr/0066, 0067), holding the identifier's lock
/// throughout:
/// <list type="number">
/// <item>while the tenant keeps writing, a backup (reason <c>move</c>) is dumped at one snapshot and loaded under the same
/// names on the target;</item>
/// <item>the freeze: the catalog marks it <c>moving_to</c> (hosts refuse its writes with 503 tenant-busy from then on),
/// and one owner session on the source locks every table of its schema IN EXCLUSIVE MODE: reads go on, writes still in
/// flight finish first;</item>
/// <item>what was written since the snapshot is caught up on the target (<see cref="MoveCatchUp"/>), and each module
/// carries over its own server-local rows (<see cref="ITenantMoveStep"/>);</item>
/// <item>the catalog switches the tenant's server, with its operator-trail record; then, still under the lock, the
/// tenant role loses every right on the source's tables, so a write that waited, or a host that has not yet followed
/// the switch, fails there (503) instead of landing where nobody will read it;</item>
/// <item>after <see cref="TenancyOptions.MoveGraceSeconds"/> the source's copy (schema, role, rows) is removed.</item>
/// </list>
/// A failure before the switch removes the partial copy on the target and leaves the tenant where it was.
/// </summary>
internal sealed partial class TenantProvisioner
{
    public async Task<(ProvisioningResult Result, TenantMoveOutcome? Outcome)> MoveAsync(
        string identifier, string? to, IEnumerable<ITenantMoveStep> steps, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(to))
        {
            return (await RefusedAsync(OperatorActions.TenantMove, identifier,
                ProvisioningResult.Invalid(new Dictionary<string, string[]> { ["to"] = ["to is required: the name of a database server."] }), ct), null);
        }

        await using var lockConnection = await database.OpenConnectionAsync(ct);
        if (!await TenantLocks.AcquireWithinPatienceAsync(lockConnection, identifier, ct))
        {
            return (await RefusedAsync(OperatorActions.TenantMove, identifier,
                ProvisioningResult.Conflict($"Tenant '{identifier}' is being provisioned, migrated, moved or deleted right now."), ct), null);
        }

        try
        {
            var tenant = await catalog.FindAsync(identifier, ct);
            if (tenant is null || tenant.Status is not (TenantStatus.Active or TenantStatus.Suspended))
            {
                return (await RefusedAsync(OperatorActions.TenantMove, identifier, tenant is null
                    ? ProvisioningResult.NotFound()
                    : ProvisioningResult.Conflict($"Tenant '{identifier}' is {tenant.Status}; only active and suspended tenants can be moved."), ct), null);
            }

            if (tenant.MovingTo is { } unfinished)
            {
                // A move that died midway (its host stopped): what it copied is removed; moving to where the tenant is
                // abandons it, anything else starts again.
                await RemoveCopyAsync(tenant, unfinished, ct);
                if (tenant.Server == to)
                {
                    await catalog.SetMovingToAsync(tenant.Id, null, ct);
                    cache.Invalidate(identifier);
                    await trail.FailedAsync(OperatorActions.TenantMove, new OperatorSubject(identifier, tenant.Id),
                        $"{tenant.Server} -> {unfinished} abandoned: the tenant stays on {tenant.Server}", ct);
                    return (new ProvisioningResult(ProvisioningStatus.Done, await catalog.FindAsync(identifier, ct)),
                        new TenantMoveOutcome(tenant.Server, to, TimeSpan.Zero, TimeSpan.Zero, Guid.Empty, 0, 0));
                }
            }

            var refusal = await ServerMap.RefuseAsTargetAsync(database, to, ct);
            if (refusal is null && tenant.Server == to)
            {
                refusal = $"Tenant '{identifier}' is on server '{to}' already.";
            }

            if (refusal is not null)
            {
                return (await RefusedAsync(OperatorActions.TenantMove, identifier, ProvisioningResult.Invalid(
                    new Dictionary<string, string[]> { ["to"] = [refusal] }), ct), null);
            }

            var outcome = await MoveLockedAsync(tenant, to, steps, ct);
            return (new ProvisioningResult(ProvisioningStatus.Done, await catalog.FindAsync(identifier, ct)), outcome);
        }
        finally
        {
            await TenantLocks.ReleaseAsync(lockConnection, identifier);
        }
    }

    private async Task<TenantMoveOutcome> MoveLockedAsync(TenantInfo tenant, string to, IEnumerable<ITenantMoveStep> steps, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        var from = tenant.Server;
        var source = await servers.ForAsync(from, ct);
        var target = await servers.ForAsync(to, ct);
        var moved = tenant with { Server = to, MovingTo = null };

        var copied = false;
        Stopwatch? frozen = null;
        Guid backupId = Guid.Empty;
        CatchUpCounts? caughtUp = null;
        try
        {
            // 1. The copy, while the tenant keeps writing: a backup dumped at one snapshot, loaded under the same names on
            // the target (after whatever a move that died while copying left there).
            await RemoveCopyAsync(moved, to, ct);
            var (backup, snapshot) = await BackUpAtSnapshotAsync(tenant, source, ct);
            backupId = backup.Id;
            var backupSource = await backups.SourceAsync(backup.Id, ct)
                ?? throw new InvalidOperationException($"The backup {backup.Id} is not completed.");

            copied = true;
            await CreateSchemaAndRoleAsync(moved, target, ct);
            await backups.RestoreIntoAsync(backupSource with { Tenant = tenant }, moved, ct);
            await GrantSharedSchemaAsync(moved, target, ct);

            // 2. The freeze: hosts refuse the tenant's writes, the ones in flight finish, and what they wrote since the
            // snapshot is caught up on the target.
            frozen = Stopwatch.StartNew();
            await catalog.SetMovingToAsync(tenant.Id, to, ct);
            cache.Invalidate(tenant.Identifier);
            await using var freeze = await source.OpenConnectionAsync(ct);
            await using var freezing = await FreezeWritesAsync(tenant, freeze, ct);

            await using var arriving = await target.OpenConnectionAsync(ct);
            await using var arrival = await arriving.BeginTransactionAsync(ct);
            await using (var searchPath = new NpgsqlCommand($"SET LOCAL search_path TO {SqlIdentifier.Quote(tenant.SchemaName)}", arriving, arrival))
            {
                await searchPath.ExecuteNonQueryAsync(ct);
            }

            caughtUp = await MoveCatchUp.ApplyAsync(tenant.SchemaName, snapshot, freezing, arrival, ct);
            foreach (var step in steps)
            {
                await step.MoveAsync(moved, freezing, arrival, ct);
            }

            await arrival.CommitAsync(ct);

            await using (var work = await trail.BeginAsync(ct))
            {
                await catalog.SwitchServerAsync(tenant.Id, to, work.Transaction, ct);
                await work.SucceededAsync(OperatorActions.TenantMove, new OperatorSubject(tenant.Identifier, tenant.Id),
                    $"{from} -> {to}: writes frozen {frozen.ElapsedMilliseconds} ms, backup {backup.Id}, " +
                    $"caught up {caughtUp.Upserted} rows written and {caughtUp.Deleted} deleted since it", ct);
            }

            // The switch is committed: from here on the tenant is on the target, whatever happens to the source's copy.
            copied = false;
            try
            {
                await RevokeTenantRightsAsync(tenant, freezing, CancellationToken.None);
                await freezing.CommitAsync(CancellationToken.None);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                // The freeze ended without the revoke: a host that has not followed yet may write to the old copy until it
                // does (within a second). Logged; the move itself is done.
                LogRevokeFailed(logger, tenant.Identifier, from, e);
            }

            frozen.Stop();
        }
        catch (Exception e)
        {
            LogMoveFailed(logger, tenant.Identifier, to, e);
            if (copied)
            {
                try
                {
                    await RemoveCopyAsync(moved, to, CancellationToken.None);
                }
                catch (Exception cleanup) when (cleanup is NpgsqlException or InvalidOperationException)
                {
                    LogCopyLeft(logger, tenant.Identifier, to, cleanup);
                }
            }

            await catalog.SetMovingToAsync(tenant.Id, null, CancellationToken.None);
            cache.Invalidate(tenant.Identifier);
            await trail.FailedAsync(OperatorActions.TenantMove, new OperatorSubject(tenant.Identifier, tenant.Id),
                $"{from} -> {to} failed, the tenant stays on {from}: {e.GetType().Name}", CancellationToken.None);
            throw new ProvisioningFailedException($"Moving '{tenant.Identifier}' to '{to}' failed; it stays on '{from}'.", e);
        }

        cache.Invalidate(tenant.Identifier);
        LogMoved(logger, tenant.Identifier, from, to, frozen.ElapsedMilliseconds);
        // Hosts follow the switch through the catalog's change notification; the old copy goes once they have.
        await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, options.Value.MoveGraceSeconds)), ct);
        try
        {
            await RemoveCopyAsync(tenant, from, ct);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // The move is done; the old copy is unreachable and takes no writes (docs/RELIABILITY.md says how to remove it).
            LogOldCopyLeft(logger, tenant.Identifier, from, e);
        }

        return new TenantMoveOutcome(from, to, frozen.Elapsed, total.Elapsed, backupId, caughtUp!.Upserted, caughtUp.Deleted);
    }

    /// <summary>
    /// A backup (reason <c>move</c>) of what one repeatable-read transaction on the source sees, and that transaction's
    /// <c>pg_current_snapshot()</c>: the catch-up copies every row version this snapshot could not see.
    /// </summary>
    private async Task<(BackupResponse Backup, string Snapshot)> BackUpAtSnapshotAsync(TenantInfo tenant, PlatformDatabase source, CancellationToken ct)
    {
        await using var connection = await source.OpenConnectionAsync(ct);
        await using var pinned = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        string exported, snapshot;
        await using (var command = new NpgsqlCommand("SELECT pg_export_snapshot(), pg_current_snapshot()::text", connection, pinned))
        {
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            (exported, snapshot) = (reader.GetString(0), reader.GetString(1));
        }

        var backup = await backups.BackUpNowAsync(tenant.Identifier, TenantBackups.MoveReason, ct, exported)
            ?? throw new InvalidOperationException("The backup of the tenant's schema failed (GET /platform/tenants/{identifier}/backups says why).");
        await pinned.CommitAsync(ct);
        return (backup, snapshot);
    }

    /// <summary>
    /// A transaction holding every table of the tenant's schema locked against writes until it ends. All at once or not
    /// at all: a write in flight may hold one table and want another, so a lock not free at once is let go and tried
    /// again (new writes are refused before they start, the ones in flight finish), until
    /// <see cref="TenancyOptions.MoveLockTimeoutMs"/>.
    /// </summary>
    private async Task<NpgsqlTransaction> FreezeWritesAsync(TenantInfo tenant, NpgsqlConnection connection, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Math.Max(1, options.Value.MoveLockTimeoutMs) / 1000.0 * Stopwatch.Frequency);
        while (true)
        {
            var transaction = await connection.BeginTransactionAsync(ct);
            try
            {
                await using var command = new NpgsqlCommand(
                    $"""
                     DO $$ DECLARE t record; BEGIN
                         FOR t IN SELECT c.oid::regclass AS name FROM pg_class c
                                  WHERE c.relnamespace = '{SqlIdentifier.Quote(tenant.SchemaName)}'::regnamespace AND c.relkind IN ('r', 'p')
                                  ORDER BY c.oid
                         LOOP
                             EXECUTE format('LOCK TABLE %s IN EXCLUSIVE MODE NOWAIT', t.name);
                         END LOOP;
                     END $$;
                     """, connection, transaction);
                await command.ExecuteNonQueryAsync(ct);
                return transaction;
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.LockNotAvailable or PostgresErrorCodes.DeadlockDetected
                                              && Stopwatch.GetTimestamp() < deadline)
            {
                await transaction.DisposeAsync();
                await Task.Delay(20, ct);
            }
            catch
            {
                await transaction.DisposeAsync();
                throw;
            }
        }
    }

    private static async Task RevokeTenantRightsAsync(TenantInfo tenant, NpgsqlTransaction transaction, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"REVOKE ALL ON ALL TABLES IN SCHEMA {SqlIdentifier.Quote(tenant.SchemaName)} FROM {SqlIdentifier.Quote(tenant.RoleName)}",
            transaction.Connection, transaction);
        await command.ExecuteNonQueryAsync(ct);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Moved tenant {Identifier} from {From} to {To}; writes were frozen {FrozenMs} ms")]
    private static partial void LogMoved(ILogger logger, string identifier, string from, string to, long frozenMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Moved tenant {Identifier}, but its rights on the old copy on {From} could not be revoked")]
    private static partial void LogRevokeFailed(ILogger logger, string identifier, string from, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Moved tenant {Identifier}, but its old copy on {From} could not be removed; remove it by hand")]
    private static partial void LogOldCopyLeft(ILogger logger, string identifier, string from, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "A failed move of {Identifier} could not remove its partial copy on {To}; a retried move removes it")]
    private static partial void LogCopyLeft(ILogger logger, string identifier, string to, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Moving tenant {Identifier} to {To} failed; it stays where it was")]
    private static partial void LogMoveFailed(ILogger logger, string identifier, string to, Exception exception);
}
