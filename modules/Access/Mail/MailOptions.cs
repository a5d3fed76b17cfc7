namespace Monolith.Access.Mail;

/// <summary>The <c>Mail</c> configuration section (CONTRACT §5, Mail).</summary>
public sealed class MailOptions
{
    public const string Section = "Mail";

    /// <summary>The sender of every mail, <c>Name &lt;address&gt;</c> or an address.</summary>
    public string From { get; set; } = "Monolith <no-reply@monolith.local>";

    /// <summary>Where the links of the mails point: a client application's base address, without a trailing slash.</summary>
    public string LinkBaseUrl { get; set; } = "http://localhost:5080";

    /// <summary>When <see cref="SmtpOptions.Host"/> is not set, each mail becomes an <c>&lt;id&gt;.eml</c> file here.</summary>
    public string? PickupDirectory { get; set; }

    /// <summary>How long a sent (or given-up) mail's record is kept; its bodies are cleared when it is sent.</summary>
    public int RetentionDays { get; set; } = 30;

    public SmtpOptions Smtp { get; set; } = new();
}

/// <summary><c>Mail:Smtp</c>: the relay. <see cref="Password"/> is a secret (from the environment).</summary>
public sealed class SmtpOptions
{
    public string? Host { get; set; }

    public int Port { get; set; } = 587;

    /// <summary><c>Auto</c>, <c>None</c>, <c>StartTls</c>, <c>StartTlsWhenAvailable</c> or <c>SslOnConnect</c>.</summary>
    public string Security { get; set; } = "Auto";

    public string? User { get; set; }

    public string? Password { get; set; }
}
