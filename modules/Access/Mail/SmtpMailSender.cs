using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Monolith.Access.Mail;

/// <summary>MailKit to <c>Mail:Smtp:Host</c>: one connection (and one login, when a user is set) per batch.</summary>
internal sealed class SmtpMailSender(IOptions<MailOptions> options) : IMailSender
{
    public async Task<IMailConnection> ConnectAsync(CancellationToken ct)
    {
        var smtp = options.Value.Smtp;
        var client = new SmtpClient { Timeout = (int)TimeSpan.FromSeconds(Math.Max(1, smtp.TimeoutSeconds)).TotalMilliseconds };
        try
        {
            await client.ConnectAsync(smtp.Host!, smtp.Port, SecurityOf(smtp.Security), ct);
            if (!string.IsNullOrEmpty(smtp.User))
            {
                await client.AuthenticateAsync(smtp.User, smtp.Password ?? string.Empty, ct);
            }

            return new Connection(client);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary><c>Mail:Smtp:Security</c> as MailKit's option; an unknown value is a configuration error (checked at start).</summary>
    internal static SecureSocketOptions SecurityOf(string? security) =>
        Enum.TryParse<SecureSocketOptions>(security, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
            ? parsed
            : throw new InvalidOperationException(
                $"Mail__Smtp__Security must be one of {string.Join(", ", Enum.GetNames<SecureSocketOptions>())}.");

    private sealed class Connection(SmtpClient client) : IMailConnection
    {
        public async Task SendAsync(MimeMessage message, CancellationToken ct) => await client.SendAsync(message, ct);

        public async ValueTask DisposeAsync()
        {
            try
            {
                if (client.IsConnected)
                {
                    await client.DisconnectAsync(quit: true, CancellationToken.None);
                }
            }
            catch (Exception e) when (e is IOException or SmtpProtocolException or SmtpCommandException or TimeoutException or OperationCanceledException)
            {
                // The mails are sent (or marked as failed) already; a goodbye that fails changes nothing.
            }
            finally
            {
                client.Dispose();
            }
        }
    }
}
