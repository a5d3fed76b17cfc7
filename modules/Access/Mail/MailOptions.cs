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

    /// <summary>How often the delivery job looks for due mail (a commit also wakes it on the instances that run jobs).</summary>
    public int DeliverySeconds { get; set; } = 5;

    /// <summary>
    /// On the instances that run jobs, deliver as soon as a transaction that queued mail commits (its notification), not
    /// only every <see cref="DeliverySeconds"/>. Off: the recurring job alone delivers (measured in docs/BENCHMARKS.md).
    /// </summary>
    public bool WakeOnCommit { get; set; } = true;

    /// <summary>Attempts before a mail is given up (its record keeps <c>failed_at</c> and the last error, its bodies are cleared).</summary>
    public int MaxAttempts { get; set; } = 10;

    /// <summary>The delay after the first failed attempt; it doubles with each further one, up to <see cref="MaxRetrySeconds"/>.</summary>
    public int RetrySeconds { get; set; } = 30;

    public int MaxRetrySeconds { get; set; } = 3600;

    /// <summary>Mails claimed at once in one tenant (and sent over one SMTP connection).</summary>
    public int BatchSize { get; set; } = 50;

    /// <summary>Tenants one delivery run (on one instance) visits at most; tenants still due wait for the next run.</summary>
    public int TenantsPerRun { get; set; } = 1000;

    /// <summary>
    /// How long a claimed mail is held by the instance sending it. After a crash it is sent again once this is over (the
    /// one duplicate at-least-once allows); an instance stops sending a batch when half of it has passed.
    /// </summary>
    public int LeaseSeconds { get; set; } = 300;

    /// <summary>Either transport is set: SMTP (<see cref="SmtpOptions.Host"/>) or a pickup directory.</summary>
    internal bool HasTransport => !string.IsNullOrWhiteSpace(Smtp.Host) || !string.IsNullOrWhiteSpace(PickupDirectory);

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

    /// <summary>How long one SMTP operation (connect, a command, the message) may take.</summary>
    public int TimeoutSeconds { get; set; } = 30;
}
