using System.ComponentModel;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.Access.Data;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy;
using Monolith.Tenancy.Contracts;
using Npgsql;

namespace Monolith.Access.Mail;

/// <summary>
/// Removes the records of mail sent or given up more than <see cref="MailOptions.RetentionDays"/> ago, in every live
/// tenant, as that tenant's role; mail still waiting for delivery is never removed. Daily (<see cref="MailRecurringJobs"/>).
/// </summary>
internal sealed partial class MailRetention(
    ITenantDirectory directory, TenantContext tenants, AccessDatabase database, IOptions<MailOptions> options, ILogger<MailRetention> logger)
{
    public const string RecurringId = "mail-retention";
    public const string ActorName = "mail-retention";

    /// <summary>One run over every live tenant; returns how many records went.</summary>
    [DisplayName("Mail: remove old records of sent mail")]
    public async Task<long> RunAsync(CancellationToken ct)
    {
        long removed = 0;
        foreach (var tenant in await directory.ListLiveAsync(ct))
        {
            using var scope = tenants.Enter(tenant);
            using var operation = OperationContext.Begin(new OperationContext { ActorKind = ActorKinds.Job, ActorName = ActorName });
            try
            {
                await using var session = await database.BeginAsync(ct);
                var before = DateTimeOffset.UtcNow.AddDays(-Math.Max(0, options.Value.RetentionDays));
                removed += await session.Db.MailOutbox
                    .Where(m => (m.SentAt != null || m.FailedAt != null) && (m.SentAt ?? m.FailedAt) < before)
                    .ExecuteDeleteAsync(ct);

                await session.CommitAsync(ct);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
            {
                // Not migrated to the outbox script yet: nothing to remove.
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                LogTenantFailed(logger, tenant.Identifier, e);
            }
        }

        return removed;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mail retention failed for tenant {Tenant}; the next daily run tries again")]
    private static partial void LogTenantFailed(ILogger logger, string tenant, Exception exception);
}
