using System.ComponentModel;
using System.Diagnostics;
using System.Net.Sockets;
using Hangfire;
using MailKit;
using MailKit.Net.Smtp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Placement;
using Npgsql;

namespace Monolith.Access.Mail;

/// <summary>
/// Delivers the tenants' outboxes, at least once (docs/adr/0014). One platform statement leases the tenants whose
/// <c>platform.mail_due</c> row is due (SKIP LOCKED; the lease is a due time in the future, so no lock is held while mail
/// is sent). Per tenant, as the tenant's role: claim a batch (each row leased the same way, attempts counted), commit,
/// send each mail with no transaction open, mark each sent (bodies cleared) or failed (backoff, or given up after
/// <see cref="MailOptions.MaxAttempts"/>), then move the tenant's row to its next due mail or remove it — only if it still
/// holds this run's lease; a mail queued meanwhile has lowered it, and it stays due.
/// <para>
/// Runs from the recurring Hangfire job (every <see cref="MailOptions.DeliverySeconds"/>) and from the wake-up on a commit
/// (<see cref="MailDeliveryWakeup"/>). One run at a time per process: a call that finds one running asks it to run once
/// more and returns. Several processes run side by side safely: leases and SKIP LOCKED keep them on different mails.
/// </para>
/// </summary>
internal sealed partial class MailDelivery(
    TenantServers servers,
    ITenantDirectory directory,
    TenantContext tenants,
    TenantDatabase database,
    IMailSender sender,
    IOptions<MailOptions> options,
    MailMetrics metrics,
    ILogger<MailDelivery> logger) : IDisposable
{
    public const string RecurringId = "mail-delivery";
    public const string ActorName = "mail-delivery";

    /// <summary>Tenants leased by one platform statement; a run leases again until none is due.</summary>
    private const int TenantsPerClaim = 10;

    /// <summary>Batches per tenant per visit; a tenant with more mail stays due and is visited again.</summary>
    private const int MaxBatchesPerVisit = 20;

    private static readonly TimeSpan NotLivePostponement = TimeSpan.FromHours(1);
    private static readonly TimeSpan LiveTenantsMaxAge = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim gate = new(1, 1);
    private int runAgain;
    private Dictionary<Guid, TenantInfo>? liveTenants;
    private long liveTenantsAt;

    private MailOptions Options => options.Value;

    /// <summary>One run; returns how many mails were sent. Nothing happens without a transport (the start-up warned).</summary>
    [DisplayName("Mail: deliver the outboxes")]
    [AutomaticRetry(Attempts = 0)] // the next run is seconds away; a retry would only overlap it
    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        if (!Options.HasTransport)
        {
            return 0;
        }

        // Whoever holds the gate sees this after its run and runs again: a wake-up is never lost to a run in progress.
        Interlocked.Exchange(ref runAgain, 1);
        var sent = 0;
        while (Volatile.Read(ref runAgain) == 1)
        {
            if (!await gate.WaitAsync(0, ct))
            {
                return sent;
            }

            try
            {
                Interlocked.Exchange(ref runAgain, 0);
                // Each server keeps the due rows of its own tenants (docs/adr/0066).
                foreach (var (_, server) in await servers.AllAsync(ct))
                {
                    sent += await DeliverDueTenantsAsync(server, ct);
                }
            }
            finally
            {
                gate.Release();
            }
        }

        return sent;
    }

    public void Dispose() => gate.Dispose();

    private async Task<int> DeliverDueTenantsAsync(PlatformDatabase server, CancellationToken ct)
    {
        var sent = 0;
        // A bounded number of claims, so one run ends even when a tenant keeps becoming due.
        var claims = Math.Max(1, (Options.TenantsPerRun + TenantsPerClaim - 1) / TenantsPerClaim);
        for (var claim = 0; claim < claims; claim++)
        {
            var due = await LeaseDueTenantsAsync(server, ct);
            if (due.Count == 0)
            {
                break;
            }

            foreach (var (tenantId, lease) in due)
            {
                if (await LiveTenantAsync(tenantId, ct) is not { } tenant)
                {
                    await MoveAsync(server, tenantId, lease, DateTime.UtcNow + NotLivePostponement, ct);
                    continue;
                }

                try
                {
                    var (delivered, next) = await DeliverTenantAsync(tenant, ct);
                    sent += delivered;
                    await MoveAsync(server, tenantId, lease, next, ct);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
                {
                    // Not migrated to the outbox script yet: nothing can be queued there.
                    await MoveAsync(server, tenantId, lease, null, ct);
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
                {
                    // The tenant's row keeps its lease: it is due again when the lease ends, as are its claimed mails.
                    LogTenantFailed(logger, tenant.Identifier, e);
                }
            }
        }

        return sent;
    }

    /// <summary>Due tenants, each leased (its due time moved to the end of the lease) in one short statement.</summary>
    private Task<List<(Guid Tenant, DateTime Lease)>> LeaseDueTenantsAsync(PlatformDatabase server, CancellationToken ct) => OnPlatformAsync(
        server,
        """
        UPDATE platform.mail_due d SET due_at = now() + make_interval(secs => $2)
        WHERE d.tenant_id IN (
            SELECT tenant_id FROM platform.mail_due WHERE due_at <= now() ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING d.tenant_id, d.due_at
        """,
        async command =>
        {
            command.Parameters.AddWithValue(TenantsPerClaim);
            command.Parameters.AddWithValue((double)LeaseSeconds);
            var due = new List<(Guid, DateTime)>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                due.Add((reader.GetGuid(0), reader.GetDateTime(1)));
            }

            return due;
        },
        ct);

    /// <summary>The tenant's row to its next due mail, or gone — only while it holds this run's lease.</summary>
    private static Task<int> MoveAsync(PlatformDatabase server, Guid tenantId, DateTime lease, DateTime? next, CancellationToken ct) => OnPlatformAsync(
        server,
        next is null
            ? "DELETE FROM platform.mail_due WHERE tenant_id = $1 AND due_at = $2"
            : "UPDATE platform.mail_due SET due_at = $3 WHERE tenant_id = $1 AND due_at = $2",
        command =>
        {
            command.Parameters.AddWithValue(tenantId);
            command.Parameters.AddWithValue(lease);
            if (next is { } at)
            {
                command.Parameters.AddWithValue(at);
            }

            return command.ExecuteNonQueryAsync(ct);
        },
        ct);

    /// <summary>
    /// One statement on <c>platform.mail_due</c>, committed without waiting for the WAL flush (as the bookkeeping in the
    /// tenant, <see cref="BeginBookkeepingAsync"/>): after a crash of the database server the row is as it was a moment
    /// before — due earlier (a lost lease or removal), or at the end of a lease (a lost move): late by at most the lease.
    /// </summary>
    private static async Task<T> OnPlatformAsync<T>(PlatformDatabase server, string sql, Func<NpgsqlCommand, Task<T>> execute, CancellationToken ct)
    {
        await using var connection = await server.DataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var asynchronous = new NpgsqlCommand("SET LOCAL synchronous_commit TO off", connection, transaction))
        {
            await asynchronous.ExecuteNonQueryAsync(ct);
        }

        T result;
        await using (var command = new NpgsqlCommand(sql, connection, transaction))
        {
            result = await execute(command);
        }

        await transaction.CommitAsync(ct);
        return result;
    }

    private async Task<(int Sent, DateTime? Next)> DeliverTenantAsync(TenantInfo tenant, CancellationToken ct)
    {
        using var scope = tenants.Enter(tenant);
        using var operation = OperationContext.Begin(new OperationContext { ActorKind = ActorKinds.Job, ActorName = ActorName });
        var sent = 0;
        for (var batch = 0; batch < MaxBatchesPerVisit; batch++)
        {
            var claimed = await ClaimAsync(ct);
            var (delivered, reachable) = await SendAsync(tenant, claimed, ct);
            sent += delivered;
            if (!reachable || claimed.Count < Math.Max(1, Options.BatchSize))
            {
                break; // with the transport unreachable, the tenant's other mails keep their attempts for later
            }
        }

        return (sent, await NextDueAsync(ct));
    }

    private async Task<List<OutboxMail>> ClaimAsync(CancellationToken ct)
    {
        await using var session = await BeginBookkeepingAsync(ct);
        var claimed = new List<OutboxMail>();
        await using (var command = session.Command(
            """
            UPDATE mail_outbox SET locked_until = now() + make_interval(secs => $2), attempts = attempts + 1
            WHERE id IN (
                SELECT id FROM mail_outbox
                WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
                  AND (locked_until IS NULL OR locked_until <= now())
                ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
            RETURNING id, kind, recipient, subject, text_body, html_body, created_at, attempts
            """))
        {
            command.Parameters.AddWithValue(Math.Max(1, Options.BatchSize));
            command.Parameters.AddWithValue((double)LeaseSeconds);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                claimed.Add(new OutboxMail(
                    reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5),
                    reader.GetFieldValue<DateTimeOffset>(6), reader.GetInt32(7)));
            }
        }

        await session.CommitAsync(ct);
        return claimed.OrderBy(m => m.CreatedAt).ToList();
    }

    /// <summary>Sends the claimed mails over one connection; returns how many went out and whether the transport could be reached.</summary>
    private async Task<(int Sent, bool Reachable)> SendAsync(TenantInfo tenant, List<OutboxMail> claimed, CancellationToken ct)
    {
        if (claimed.Count == 0)
        {
            return (0, true);
        }

        var from = MailboxAddress.Parse(Options.From);
        // Past half the lease the rest is handed back: sending it later than the lease would race another instance.
        var budget = Stopwatch.StartNew();
        var halfLease = TimeSpan.FromSeconds(LeaseSeconds / 2.0);
        IMailConnection? connection = null;
        Exception? unreachable = null;
        var sent = 0;
        var index = 0;
        try
        {
            for (; index < claimed.Count; index++)
            {
                var mail = claimed[index];
                if (unreachable is not null)
                {
                    await RecordFailureAsync(tenant, mail, unreachable, permanent: false);
                    continue;
                }

                if (budget.Elapsed > halfLease)
                {
                    await ReleaseAsync(claimed.Skip(index).ToList());
                    break;
                }

                MimeMessage message;
                try
                {
                    message = OutboxMails.ToMessage(mail, from);
                }
                catch (ParseException e)
                {
                    await RecordFailureAsync(tenant, mail, e, permanent: true); // an address that can never be sent to
                    continue;
                }

                try
                {
                    connection ??= await sender.ConnectAsync(ct);
                }
                catch (Exception e) when (IsTransportFailure(e, ct) || e is SmtpCommandException)
                {
                    unreachable = e;
                    await RecordFailureAsync(tenant, mail, e, permanent: false);
                    continue;
                }

                try
                {
                    await connection.SendAsync(message, ct);
                }
                catch (SmtpCommandException e)
                {
                    // The connection is fine (MailKit resets the transaction); a recipient refused for good is given up.
                    await RecordFailureAsync(tenant, mail, e, permanent: e.ErrorCode == SmtpErrorCode.RecipientNotAccepted && (int)e.StatusCode >= 500);
                    continue;
                }
                catch (Exception e) when (IsTransportFailure(e, ct))
                {
                    await connection.DisposeAsync();
                    connection = null;
                    await RecordFailureAsync(tenant, mail, e, permanent: false);
                    continue;
                }

                // Delivered: from here a crash before the mark means one duplicate after the lease, never a loss.
                await MarkSentAsync(mail.Id);
                metrics.Sent();
                sent++;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping: the mail in flight keeps its lease (it may have gone out); the ones not tried are handed back.
            await ReleaseAsync(claimed.Skip(index + 1).ToList());
            throw;
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }

        return (sent, unreachable is null);
    }

    private static bool IsTransportFailure(Exception e, CancellationToken ct) => e
        is IOException or SocketException or TimeoutException or UnauthorizedAccessException
        or SmtpProtocolException or ServiceNotConnectedException or ServiceNotAuthenticatedException
        or MailKit.Security.AuthenticationException or MailKit.Security.SslHandshakeException
        || (e is OperationCanceledException && !ct.IsCancellationRequested);

    // The marks run whatever the token says: a mail that went out must be recorded as sent if at all possible.
    private async Task MarkSentAsync(Guid id)
    {
        await using var session = await BeginBookkeepingAsync(CancellationToken.None);
        await using (var command = session.Command(
            """
            UPDATE mail_outbox SET sent_at = now(), locked_until = NULL, text_body = NULL, html_body = NULL
            WHERE id = $1 AND sent_at IS NULL
            """))
        {
            command.Parameters.AddWithValue(id);
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }

        await session.CommitAsync(CancellationToken.None);
    }

    /// <summary>A failed attempt: due again after the backoff, or given up (bodies cleared) when attempts are spent or it can never succeed.</summary>
    private async Task RecordFailureAsync(TenantInfo tenant, OutboxMail mail, Exception error, bool permanent)
    {
        var giveUp = permanent || mail.Attempts >= Math.Max(1, Options.MaxAttempts);
        var text = OutboxMails.ErrorOf(error);
        await using (var session = await BeginBookkeepingAsync(CancellationToken.None))
        {
            await using (var command = session.Command(
                """
                UPDATE mail_outbox
                   SET locked_until = NULL, last_error = $2,
                       next_attempt_at = CASE WHEN $3 THEN next_attempt_at ELSE now() + make_interval(secs => $4) END,
                       failed_at = CASE WHEN $3 THEN now() END,
                       text_body = CASE WHEN $3 THEN NULL ELSE text_body END,
                       html_body = CASE WHEN $3 THEN NULL ELSE html_body END
                 WHERE id = $1 AND sent_at IS NULL
                """))
            {
                command.Parameters.AddWithValue(mail.Id);
                command.Parameters.AddWithValue(text);
                command.Parameters.AddWithValue(giveUp);
                command.Parameters.AddWithValue(Backoff(Options, mail.Attempts).TotalSeconds);
                await command.ExecuteNonQueryAsync(CancellationToken.None);
            }

            await session.CommitAsync(CancellationToken.None);
        }

        if (giveUp)
        {
            metrics.GivenUp();
            LogGivenUp(logger, tenant.Identifier, mail.Id, mail.Kind, mail.Attempts, text);
        }
        else
        {
            metrics.Retried();
            LogAttemptFailed(logger, tenant.Identifier, mail.Id, mail.Kind, mail.Attempts, text);
        }
    }

    /// <summary>Claimed mails not tried: their lease and the attempt counted for them are handed back.</summary>
    private async Task ReleaseAsync(List<OutboxMail> mails)
    {
        if (mails.Count == 0)
        {
            return;
        }

        await using var session = await BeginBookkeepingAsync(CancellationToken.None);
        await using (var command = session.Command(
            "UPDATE mail_outbox SET locked_until = NULL, attempts = attempts - 1 WHERE id = ANY($1) AND sent_at IS NULL AND failed_at IS NULL"))
        {
            command.Parameters.AddWithValue(mails.Select(m => m.Id).ToArray());
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }

        await session.CommitAsync(CancellationToken.None);
    }

    /// <summary>
    /// A tenant transaction for the delivery's own writes (claims, marks), committed without waiting for the WAL flush
    /// (<c>synchronous_commit</c> off for it alone). A commit is visible and kept at once; only a crash of the database
    /// server itself may forget the last fraction of a second of them, and what it forgets is a claim (taken again) or a
    /// mark (that mail sent once more): at least once either way. Waiting for the flush cost a disk sync per mail sent.
    /// </summary>
    private async Task<TenantConnection> BeginBookkeepingAsync(CancellationToken ct)
    {
        var session = await database.BeginAsync(ct);
        try
        {
            await using var command = session.Command("SET LOCAL synchronous_commit TO off");
            await command.ExecuteNonQueryAsync(ct);
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>When the tenant's next mail is due: its retry time, or the end of a lease another instance holds.</summary>
    private async Task<DateTime?> NextDueAsync(CancellationToken ct)
    {
        await using var session = await database.BeginAsync(ct);
        await using var command = session.Command(
            """
            SELECT min(greatest(next_attempt_at, coalesce(locked_until, next_attempt_at)))
            FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL
            """);
        var next = await command.ExecuteScalarAsync(ct) is DateTime at ? at : (DateTime?)null;
        await session.CommitAsync(ct);
        return next;
    }

    /// <summary>The delay after the n-th failed attempt: <see cref="MailOptions.RetrySeconds"/> doubling, at most <see cref="MailOptions.MaxRetrySeconds"/>.</summary>
    internal static TimeSpan Backoff(MailOptions options, int attempts)
    {
        var first = Math.Max(1, options.RetrySeconds);
        var max = Math.Max(first, options.MaxRetrySeconds);
        var seconds = first * Math.Pow(2, Math.Clamp(attempts - 1, 0, 30));
        return TimeSpan.FromSeconds(Math.Min(max, seconds));
    }

    private int LeaseSeconds => Math.Max(10, Options.LeaseSeconds);

    /// <summary>The live tenant with this id (the list is read again when it is older than a few seconds or lacks the id).</summary>
    private async Task<TenantInfo?> LiveTenantAsync(Guid id, CancellationToken ct)
    {
        var fresh = liveTenants is not null && Stopwatch.GetElapsedTime(liveTenantsAt) < LiveTenantsMaxAge;
        if (fresh && liveTenants!.TryGetValue(id, out var known))
        {
            return known;
        }

        liveTenants = (await directory.ListLiveAsync(ct)).ToDictionary(t => t.Id);
        liveTenantsAt = Stopwatch.GetTimestamp();
        return liveTenants.GetValueOrDefault(id);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mail delivery could not work on tenant {Tenant}; it is tried again when its lease ends")]
    private static partial void LogTenantFailed(ILogger logger, string tenant, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mail {MailId} ({Kind}) of tenant {Tenant} not sent, attempt {Attempts}: {Error}")]
    private static partial void LogAttemptFailed(ILogger logger, string tenant, Guid mailId, string kind, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Mail {MailId} ({Kind}) of tenant {Tenant} given up after {Attempts} attempts: {Error}")]
    private static partial void LogGivenUp(ILogger logger, string tenant, Guid mailId, string kind, int attempts, string error);
}
