using MimeKit;
using Monolith.Access.Mail;
using Monolith.Tests.Support;

namespace Monolith.Tests.Access.Mail;

[Trait("Category", Categories.Unit)]
public sealed class MailRulesTests
{
    [Fact]
    public void The_retry_delay_doubles_from_RetrySeconds_and_stops_at_MaxRetrySeconds()
    {
        var options = new MailOptions { RetrySeconds = 30, MaxRetrySeconds = 3600 };

        Assert.Equal(
            [30, 60, 120, 240, 480, 960, 1920, 3600, 3600],
            Enumerable.Range(1, 9).Select(attempt => MailDelivery.Backoff(options, attempt).TotalSeconds));
        Assert.Equal(3600, MailDelivery.Backoff(options, 500).TotalSeconds);
    }

    [Fact]
    public void A_recorded_error_names_the_exception_and_never_carries_a_link_or_a_token()
    {
        var error = OutboxMails.ErrorOf(new InvalidOperationException(
            "550 rejected: http://localhost:5080/reset-password?tenant=t&token=abcDEF123_-abcDEF123_-xyz and abcDEF123_-abcDEF123_-xyz\r\nagain"));

        Assert.StartsWith("InvalidOperationException: 550 rejected: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("abcDEF123", error, StringComparison.Ordinal);
        Assert.DoesNotContain("localhost", error, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", error, StringComparison.Ordinal);
        Assert.True(OutboxMails.ErrorOf(new InvalidOperationException(new string('x', 5000))).Length <= 300);
    }

    [Fact]
    public void The_message_id_is_the_outbox_id_at_the_senders_domain()
    {
        var id = Guid.CreateVersion7();
        var mail = new OutboxMail(id, "invitation", "someone@example.test", "Hello", "text", "<p>html</p>", DateTimeOffset.UtcNow, 1);

        var message = OutboxMails.ToMessage(mail, MailboxAddress.Parse("Monolith <no-reply@monolith.example>"));

        Assert.Equal($"{id:D}@monolith.example", message.MessageId);
        Assert.Equal("multipart/alternative", message.Body!.ContentType.MimeType);
        Assert.Equal("text", message.TextBody!.Trim());
        Assert.Equal("<p>html</p>", message.HtmlBody!.Trim());
    }

    [Theory]
    [InlineData(5, "*/5 * * * * *")]
    [InlineData(0, "*/1 * * * * *")]
    [InlineData(120, "*/2 * * * *")]
    public void Delivery_runs_on_a_seconds_cron(int seconds, string cron) => Assert.Equal(cron, MailRecurringJobs.Cron(seconds));
}
