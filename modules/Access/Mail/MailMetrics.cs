using System.Diagnostics.Metrics;

namespace Monolith.Access.Mail;

/// <summary>Mail outcomes (CONTRACT §6): sent, retried after a failed attempt, given up.</summary>
internal sealed class MailMetrics : IDisposable
{
    public const string MeterName = "Monolith.Access.Mail";

    private readonly Meter meter;
    private readonly Counter<long> outcomes;

    public MailMetrics(IMeterFactory meters)
    {
        meter = meters.Create(MeterName);
        outcomes = meter.CreateCounter<long>("monolith.mail.outcomes", description: "Mail delivery attempts by outcome (sent, retried, given-up)");
    }

    public void Sent() => Add("sent");

    public void Retried() => Add("retried");

    public void GivenUp() => Add("given-up");

    public void Dispose() => meter.Dispose();

    private void Add(string outcome) => outcomes.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
}
