using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Monolith.Tenancy;

/// <summary>Ready when the database answers a query within the check's time.</summary>
internal sealed class DatabaseHealthCheck(PlatformDatabase database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = database.DataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy("database unreachable");
        }
    }
}
