using System.Net;
using Microsoft.Extensions.Options;

namespace Monolith.Access.Mail;

/// <summary>The kinds of mail the account flows send (<c>mail_outbox.kind</c>).</summary>
internal static class MailKinds
{
    public const string Invitation = "invitation";
    public const string PasswordReset = "password-reset";
    public const string EmailVerification = "email-verification";
}

/// <summary>
/// The mails of the account flows, plain text and HTML. A link is <c>Mail:LinkBaseUrl</c> + a client page + the tenant
/// and the token (CONTRACT §5); every value from a user is HTML-encoded.
/// </summary>
internal sealed class AccountMails(IOptions<MailOptions> options)
{
    public OutgoingMail Invitation(string to, string tenant, string token, string role, string invitedBy, DateTimeOffset expiresAt)
    {
        var link = Link("accept-invitation", tenant, token);
        var text = $"""
            {invitedBy} invited you to {tenant} as {role}.

            Accept the invitation: {link}

            The link is valid until {expiresAt:yyyy-MM-dd HH:mm} UTC and works once.
            If you did not expect this invitation, ignore this mail.
            """;
        var html = Html(
            $"<p>{Encode(invitedBy)} invited you to <strong>{Encode(tenant)}</strong> as {Encode(role)}.</p>",
            link, "Accept the invitation",
            $"The link is valid until {expiresAt:yyyy-MM-dd HH:mm} UTC and works once. If you did not expect this invitation, ignore this mail.");
        return new OutgoingMail(MailKinds.Invitation, to, $"You are invited to {tenant}", text, html);
    }

    public OutgoingMail PasswordReset(string to, string tenant, string token, int validMinutes)
    {
        var link = Link("reset-password", tenant, token);
        var text = $"""
            Someone asked to reset the password of your account in {tenant}.

            Choose a new password: {link}

            The link is valid for {validMinutes} minutes and works once; using it signs you out everywhere.
            If it was not you, ignore this mail: your password stays as it is.
            """;
        var html = Html(
            $"<p>Someone asked to reset the password of your account in <strong>{Encode(tenant)}</strong>.</p>",
            link, "Choose a new password",
            $"The link is valid for {validMinutes} minutes and works once; using it signs you out everywhere. If it was not you, ignore this mail: your password stays as it is.");
        return new OutgoingMail(MailKinds.PasswordReset, to, $"Reset your password for {tenant}", text, html);
    }

    public OutgoingMail EmailVerification(string to, string tenant, string token, int validHours)
    {
        var link = Link("verify-email", tenant, token);
        var text = $"""
            Please confirm that {to} is your e-mail address in {tenant}.

            Confirm: {link}

            The link is valid for {validHours} hours and works once.
            """;
        var html = Html(
            $"<p>Please confirm that {Encode(to)} is your e-mail address in <strong>{Encode(tenant)}</strong>.</p>",
            link, "Confirm my address",
            $"The link is valid for {validHours} hours and works once.");
        return new OutgoingMail(MailKinds.EmailVerification, to, $"Confirm your e-mail address for {tenant}", text, html);
    }

    private string Link(string page, string tenant, string token) =>
        $"{options.Value.LinkBaseUrl.TrimEnd('/')}/{page}?tenant={Uri.EscapeDataString(tenant)}&token={Uri.EscapeDataString(token)}";

    private static string Html(string intro, string link, string action, string footer) =>
        $"""
         <!DOCTYPE html>
         <html><body style="font-family: sans-serif">
         {intro}
         <p><a href="{Encode(link)}">{Encode(action)}</a></p>
         <p style="color: #555">{Encode(footer)}</p>
         </body></html>
         """;

    private static string Encode(string value) => WebUtility.HtmlEncode(value);
}
