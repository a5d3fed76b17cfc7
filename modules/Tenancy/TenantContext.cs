using Monolith.Tenancy.Catalog;

namespace Monolith.Tenancy;

/// <summary>
/// The tenant of the current unit of work. The HTTP pipeline enters it once the request is resolved;
/// jobs and the CLI enter it explicitly, and leaving restores what was there before.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822:Mark members as static",
    Justification = "An injected service: callers depend on it, not on the AsyncLocal it wraps.")]
public sealed class TenantContext
{
    private static readonly AsyncLocal<TenantInfo?> CurrentHolder = new();

    public TenantInfo? Current => CurrentHolder.Value;

    public TenantInfo Required =>
        CurrentHolder.Value ?? throw new InvalidOperationException("No tenant is in scope: tenant data can only be reached inside a tenant context.");

    public IDisposable Enter(TenantInfo tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var previous = CurrentHolder.Value;
        CurrentHolder.Value = tenant;
        return new Restore(previous);
    }

    private sealed class Restore(TenantInfo? previous) : IDisposable
    {
        public void Dispose() => CurrentHolder.Value = previous;
    }
}
