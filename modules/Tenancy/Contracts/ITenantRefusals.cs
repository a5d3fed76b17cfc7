namespace Monolith.Tenancy.Contracts;

/// <summary>
/// Counts a request of the current tenant refused to protect the others (metric <c>monolith.tenant.refused</c>, tag
/// <c>reason</c>): Tenancy's own bounds, and Access's rate limits (<see cref="RateLimited"/>).
/// </summary>
public interface ITenantRefusals
{
    public const string RateLimited = "rate-limited";

    void Refused(string reason);
}
