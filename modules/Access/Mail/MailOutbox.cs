using Npgsql;

namespace Monolith.Access.Mail;

/// <summary>A mail to send: one recipient, a plain-text and an HTML body. <see cref="Kind"/> names the flow (invitation, ...).</summary>
internal sealed record OutgoingMail(string Kind, string To, string Subject, string Text, string Html);

/// <summary>
/// The tenant's outbox (<c>mail_outbox</c>): a mail is a row written in the transaction that causes it, so it is sent
/// if and only if that transaction commits. Delivery is the background job's (at least once, with retries).
/// </summary>
internal static class MailOutbox
{
    public static async Task<Guid> EnqueueAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, OutgoingMail mail, CancellationToken ct)
    {
        var id = Guid.CreateVersion7();
        await using var command = new NpgsqlCommand(
            "INSERT INTO mail_outbox (id, kind, recipient, subject, text_body, html_body) VALUES ($1, $2, $3, $4, $5, $6)",
            connection, transaction);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(mail.Kind);
        command.Parameters.AddWithValue(mail.To);
        command.Parameters.AddWithValue(mail.Subject);
        command.Parameters.AddWithValue(mail.Text);
        command.Parameters.AddWithValue(mail.Html);
        await command.ExecuteNonQueryAsync(ct);
        return id;
    }
}
