using MimeKit;

namespace Monolith.Access.Mail;

/// <summary>
/// Where delivered mail goes: an SMTP relay (<see cref="SmtpMailSender"/>) or a pickup directory
/// (<see cref="PickupDirectoryMailSender"/>). The delivery job opens one connection per batch.
/// </summary>
internal interface IMailSender
{
    /// <summary>A connection for a batch of mails; throws when the transport cannot be reached.</summary>
    Task<IMailConnection> ConnectAsync(CancellationToken ct);
}

internal interface IMailConnection : IAsyncDisposable
{
    Task SendAsync(MimeMessage message, CancellationToken ct);
}
