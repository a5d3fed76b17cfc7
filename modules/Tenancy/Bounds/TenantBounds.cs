using Microsoft.Extensions.Options;
using Monolith.Tenancy.Catalog;

namespace Monolith.Tenancy.Bounds;

/// <summary>
/// The effective per-tenant bounds (docs/adr/0006): the tenant's own setting when it has one, else the configured
/// default. The concurrency default is a quarter of the request pool (all its sub-pools together: a busy tenant's sessions
/// spill over to other sub-pools, docs/adr/0064), so four busy tenants cannot take it all.
/// </summary>
public sealed class TenantBounds(IOptions<TenancyOptions> options, PlatformDatabase database)
{
    private readonly TenancyOptions settings = options.Value;

    public int LockTimeoutMs(TenantInfo tenant) => Math.Min(settings.LockTimeoutMs ?? int.MaxValue, StatementTimeoutMs(tenant));

    public int IdleInTransactionTimeoutMs => settings.IdleInTransactionTimeoutMs;

    public int ConcurrencyQueueMs => settings.ConcurrencyQueueMs;

    public int DefaultMaxConcurrency => settings.MaxConcurrency ?? Math.Max(1, database.RequestPoolSize / 4);

    public int StatementTimeoutMs(TenantInfo tenant) => tenant.StatementTimeoutMs ?? settings.StatementTimeoutMs;

    public int MaxConcurrency(TenantInfo tenant) => tenant.MaxConcurrency ?? DefaultMaxConcurrency;
}
