using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Monolith.Tenancy.Catalog;

namespace Monolith.Tenancy.Bounds;

/// <summary>
/// One concurrency limiter per tenant in front of the shared pool: at most the tenant's <c>maxConcurrency</c> requests
/// work on the database at once, as many more wait up to <see cref="TenantBounds.ConcurrencyQueueMs"/>, and the rest
/// are refused at once (503 tenant-busy). Per host instance: N instances admit N times the bound (docs/adr/0006).
/// </summary>
internal sealed class TenantConcurrency(TenantBounds bounds)
{
    private readonly ConcurrentDictionary<Guid, Slot> slots = new();

    public async ValueTask<RateLimitLease> AcquireAsync(TenantInfo tenant, CancellationToken ct)
    {
        var limit = bounds.MaxConcurrency(tenant);
        var slot = slots.AddOrUpdate(
            tenant.Id,
            static (_, l) => new Slot(l),
            static (_, existing, l) => existing.Limit == l ? existing : new Slot(l), // a changed bound takes effect now
            limit);

        var immediate = slot.Limiter.AttemptAcquire();
        if (immediate.IsAcquired)
        {
            return immediate;
        }

        immediate.Dispose();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(bounds.ConcurrencyQueueMs);
        try
        {
            return await slot.Limiter.AcquireAsync(1, timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return Refused.Instance;
        }
    }

    private sealed class Slot(int limit)
    {
        public int Limit { get; } = limit;

        public ConcurrencyLimiter Limiter { get; } = new(new ConcurrencyLimiterOptions
        {
            PermitLimit = limit,
            QueueLimit = limit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    private sealed class Refused : RateLimitLease
    {
        public static readonly Refused Instance = new();

        public override bool IsAcquired => false;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
