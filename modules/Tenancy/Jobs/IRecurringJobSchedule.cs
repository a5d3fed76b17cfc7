using Hangfire;

namespace Monolith.Tenancy.Jobs;

/// <summary>
/// A module's recurring jobs. Register an implementation as a singleton; a process that runs a Hangfire server adds or
/// updates them at start (every server does, so a changed schedule takes effect with the next deployment).
/// </summary>
public interface IRecurringJobSchedule
{
    void Register(IRecurringJobManager recurring);
}
