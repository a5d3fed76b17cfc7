using Monolith.Tenancy.Catalog;

namespace Monolith.Tenancy.Contracts;

/// <summary>What other modules may ask of the catalog: the live tenants (for jobs) and one tenant by identifier.</summary>
public interface ITenantDirectory
{
    Task<IReadOnlyList<TenantInfo>> ListLiveAsync(CancellationToken ct);

    ValueTask<TenantInfo?> FindAsync(string identifier, CancellationToken ct);
}
