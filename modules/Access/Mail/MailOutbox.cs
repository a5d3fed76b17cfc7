using Monolith.Access.Data;

namespace Monolith.Access.Mail;

/// <summary>A mail to send: one recipient, a plain-text and an HTML body. <see cref="Kind"/> names the flow (invitation, ...).</summary>
internal sealed record OutgoingMail(string Kind, string To, string Subject, string Text, string Html);

/// <summary>
/// The tenant's outbox (<c>mail_outbox</c>): a mail is a row written in the transaction that causes it, so it is sent
/// if and only if that transaction commits. Delivery is the background job's (at least once, with retries).
/// </summary>
internal static class MailOutbox
{
    public static async Task<Guid> EnqueueAsync(AccessDbContext db, OutgoingMail mail, CancellationToken ct)
    {
        var entry = new OutboxEntry
        {
            Id = Guid.CreateVersion7(), Kind = mail.Kind, Recipient = mail.To, Subject = mail.Subject, TextBody = mail.Text, HtmlBody = mail.Html,
        };
        db.MailOutbox.Add(entry);
        await db.SaveChangesAsync(ct);
        return entry.Id;
    }
}
