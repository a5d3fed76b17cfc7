namespace Monolith.Tenancy.Contracts;

/// <summary>A <c>POST /platform/migrations</c> job as the platform job list shows it, with its per-tenant counts.</summary>
public sealed record MigrationRun(
    Guid Id,
    string Status,
    string? Target,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    int Tenants,
    int Migrated,
    int Current,
    int Failed);

/// <summary>The migration jobs' runs, for the platform job list (which pages them together with other jobs' runs).</summary>
public interface IMigrationRuns
{
    /// <summary>Newest first (created, then id, descending), only those before <paramref name="before"/> when given.</summary>
    Task<IReadOnlyList<MigrationRun>> ListAsync((DateTimeOffset CreatedAt, Guid Id)? before, int limit, CancellationToken ct);
}
