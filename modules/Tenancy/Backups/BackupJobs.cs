using Hangfire;

namespace Monolith.Tenancy.Backups;

/// <summary>
/// <c>POST /platform/tenants/{identifier}/backups</c>: records the backup as running, then hands it to Hangfire, so an
/// accepted backup is made by whichever instance runs jobs, even when the accepting host stops.
/// </summary>
internal sealed class BackupJobs(TenantBackups backups, IBackgroundJobClient jobs)
{
    public async Task<(BackupStart Start, BackupResponse? Backup)> StartAsync(string identifier, CancellationToken ct)
    {
        var (start, backup) = await backups.CreateAsync(identifier, TenantBackups.RequestedReason, ct);
        if (start == BackupStart.Accepted)
        {
            jobs.Enqueue<TenantBackups>(b => b.RunAsync(backup!.Id, CancellationToken.None));
        }

        return (start, backup);
    }
}
