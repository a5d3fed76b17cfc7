using System.Diagnostics.Metrics;

namespace Monolith.Access.Mail;

/// <summary>Mail outcomes (CONTRACT §6): sent, retried after a failed attempt, given up.</summary>
internal sealed class MailMetrics
{
    private readonly Counter<long> outcomes;

    public MailMetrics(IMeterFactory meters) =>
        outcomes = meters.Create(AccessModule.MeterName)
            .CreateCounter<long>("monolith.mail.outcomes", "{mail}", "Mail delivery attempts by outcome (sent, retried, given-up)");

    public void Sent() => Add("sent");

    public void Retried() => Add("retried");

    public void GivenUp() => Add("given-up");

    private void Add(string outcome) => outcomes.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
}
