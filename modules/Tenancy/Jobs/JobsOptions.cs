namespace Monolith.Tenancy.Jobs;

/// <summary><c>Jobs</c> settings: Hangfire's server in this process, and how it polls and retries.</summary>
public sealed class JobsOptions
{
    public const string Section = "Jobs";

    /// <summary>Run a Hangfire server (workers, schedulers) in this process. Off: this instance only enqueues and shows the dashboard.</summary>
    public bool ServerEnabled { get; set; } = true;

    /// <summary>A worker-only process: jobs run, the HTTP API is not served (only /health/*).</summary>
    public bool WorkerOnly { get; set; }

    public int WorkerCount { get; set; } = 2;

    /// <summary>How often the server looks for queued jobs (Hangfire.PostgreSql polls the queue table).</summary>
    public int QueuePollMilliseconds { get; set; } = 5000;

    /// <summary>How often scheduled jobs (retries with a delay) are moved to their queue.</summary>
    public int SchedulePollMilliseconds { get; set; } = 15000;

    /// <summary>Attempts after the first failure.</summary>
    public int RetryAttempts { get; set; } = 5;

    /// <summary>Delay before each retry (the last one repeats). Default: 1 min, 5 min, 30 min, 1 h, 2 h.</summary>
    public int[]? RetryDelaysSeconds { get; set; }

    internal int[] EffectiveRetryDelays => RetryDelaysSeconds is { Length: > 0 } delays ? delays : [60, 300, 1800, 3600, 7200];
}
