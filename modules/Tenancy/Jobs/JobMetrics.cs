using System.Diagnostics;
using System.Diagnostics.Metrics;
using Hangfire.Common;
using Hangfire.States;
using Hangfire.Storage;

namespace Monolith.Tenancy.Jobs;

/// <summary>
/// Job outcomes (<c>monolith.jobs.outcomes</c>, tags <c>outcome</c> and <c>job</c>): <c>succeeded</c>; <c>retried</c> when a
/// failed attempt is scheduled again (the retry filter turned its failure into a scheduled state); <c>failed</c> when a job
/// fails for good. Counted where the state is applied, on the worker that ran it.
/// </summary>
internal sealed class JobMetrics : JobFilterAttribute, IApplyStateFilter
{
    private readonly Counter<long> outcomes;

    public JobMetrics(IMeterFactory meters) =>
        outcomes = meters.Create(TenancyModule.MeterName)
            .CreateCounter<long>("monolith.jobs.outcomes", "{job}", "Hangfire job runs by outcome: succeeded, retried, failed (given up)");

    public void OnStateApplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
        var outcome = context.NewState switch
        {
            SucceededState => "succeeded",
            FailedState => "failed",
            ScheduledState when context.OldStateName == ProcessingState.StateName => "retried",
            _ => null,
        };
        if (outcome is null)
        {
            return;
        }

        // The job's class and method: a handful of names in the code, never an argument.
        var job = context.BackgroundJob.Job is { } j ? $"{j.Type.Name}.{j.Method.Name}" : "unknown";
        outcomes.Add(1, new TagList { { "outcome", outcome }, { "job", job } });
    }

    public void OnStateUnapplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
    }
}
