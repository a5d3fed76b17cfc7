namespace Monolith.Customers.Contracts;

/// <summary>
/// Published inside the transaction that deletes projects (one project, or all of a deleted customer's),
/// so that modules holding data about projects (toggle overrides) remove it in the same transaction.
/// </summary>
public sealed record ProjectsDeleted(IReadOnlyList<Guid> ProjectIds);

/// <summary>What other modules may ask about projects of the current tenant.</summary>
public interface IProjectLookup
{
    Task<bool> ExistsAsync(Guid projectId, CancellationToken ct);
}
