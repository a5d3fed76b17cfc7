using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Contracts;
using Npgsql;

namespace Monolith.Access.Mail;

/// <summary>
/// A restored tenant does not send the mail its backup still held: those mails were written for the original (their links
/// name the original's identifier, which may have sent them already). They are given up, bodies cleared, with the reason.
/// </summary>
internal sealed class OutboxOfRestoredTenant : ITenantRestoreStep
{
    public async Task AfterRestoreAsync(TenantInfo tenant, NpgsqlTransaction transaction, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            """
            UPDATE mail_outbox
               SET failed_at = now(), locked_until = NULL, text_body = NULL, html_body = NULL,
                   last_error = 'not sent: restored from a backup, the mail was written for the original tenant'
             WHERE sent_at IS NULL AND failed_at IS NULL
            """, transaction.Connection, transaction);
        await command.ExecuteNonQueryAsync(ct);
    }
}
