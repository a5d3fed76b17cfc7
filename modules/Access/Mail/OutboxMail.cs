using System.Text.RegularExpressions;
using MimeKit;

namespace Monolith.Access.Mail;

/// <summary>A claimed row of <c>mail_outbox</c>: what the delivery job sends.</summary>
internal sealed record OutboxMail(Guid Id, string Kind, string Recipient, string Subject, string? Text, string? Html, DateTimeOffset CreatedAt, int Attempts);

/// <summary>How an outbox row becomes a message, and how a failure becomes its <c>last_error</c>.</summary>
internal static partial class OutboxMails
{
    private const int MaxErrorLength = 300;

    /// <summary>
    /// From <c>Mail:From</c>, plain text and HTML as multipart/alternative, and a Message-ID made of the outbox id and the
    /// sender's domain: the same mail delivered twice (after a crash) carries the same Message-ID.
    /// </summary>
    public static MimeMessage ToMessage(OutboxMail mail, MailboxAddress from)
    {
        var message = new MimeMessage();
        message.From.Add(from);
        message.To.Add(MailboxAddress.Parse(mail.Recipient));
        message.Subject = mail.Subject;
        message.Date = mail.CreatedAt;
        message.MessageId = MessageIdOf(mail.Id, from);
        message.Body = new BodyBuilder { TextBody = mail.Text ?? string.Empty, HtmlBody = mail.Html ?? string.Empty }.ToMessageBody();
        return message;
    }

    public static string MessageIdOf(Guid id, MailboxAddress from) =>
        $"{id:D}@{(string.IsNullOrEmpty(from.Domain) ? "localhost" : from.Domain)}";

    /// <summary>
    /// The exception's type and a short message, for <c>last_error</c> and the log. A server's reply may quote what it
    /// was sent: anything shaped like a link or a token is cut out, so a body's secret never lands here.
    /// </summary>
    public static string ErrorOf(Exception exception)
    {
        var message = exception.Message.ReplaceLineEndings(" ");
        message = Link().Replace(message, "[link]");
        message = TokenLike().Replace(message, "[redacted]");
        var text = $"{exception.GetType().Name}: {message}";
        return text.Length <= MaxErrorLength ? text : text[..MaxErrorLength];
    }

    [GeneratedRegex(@"\b[a-z][a-z0-9+.-]*://\S+", RegexOptions.IgnoreCase)]
    private static partial Regex Link();

    [GeneratedRegex(@"[A-Za-z0-9_\-+/=%]{20,}")]
    private static partial Regex TokenLike();
}
