using Microsoft.Extensions.Options;
using MimeKit;

namespace Monolith.Access.Mail;

/// <summary>
/// One <c>&lt;id&gt;.eml</c> file per mail in <c>Mail:PickupDirectory</c> (id = the outbox id, the Message-ID's left part).
/// Written under a temporary name, flushed, then renamed: a reader never sees half a file, and a mail delivered twice
/// (after a crash) replaces its own file.
/// </summary>
internal sealed class PickupDirectoryMailSender(IOptions<MailOptions> options) : IMailSender
{
    public Task<IMailConnection> ConnectAsync(CancellationToken ct)
    {
        var directory = Path.GetFullPath(options.Value.PickupDirectory!);
        Directory.CreateDirectory(directory);
        return Task.FromResult<IMailConnection>(new Connection(directory));
    }

    private sealed class Connection(string directory) : IMailConnection
    {
        public async Task SendAsync(MimeMessage message, CancellationToken ct)
        {
            var name = FileNameOf(message);
            var final = Path.Combine(directory, name + ".eml");
            var temporary = Path.Combine(directory, $".{name}.{Guid.NewGuid():N}.tmp");
            try
            {
                await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 16384, useAsync: true))
                {
                    await message.WriteToAsync(file, ct);
                    await file.FlushAsync(ct);
                    file.Flush(flushToDisk: true);
                }

                File.Move(temporary, final, overwrite: true);
            }
            finally
            {
                if (File.Exists(temporary))
                {
                    File.Delete(temporary);
                }
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        /// <summary>The Message-ID's left part: the outbox id (a Guid), never a name a message could choose.</summary>
        private static string FileNameOf(MimeMessage message)
        {
            var id = message.MessageId ?? string.Empty;
            var at = id.IndexOf('@', StringComparison.Ordinal);
            return Guid.TryParse(at < 0 ? id : id[..at], out var guid)
                ? guid.ToString("D")
                : throw new InvalidOperationException("A mail to the pickup directory needs the outbox id as its Message-ID.");
        }
    }
}
