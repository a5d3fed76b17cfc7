using System.Collections.Concurrent;
using System.Collections.Frozen;
using Microsoft.Extensions.Logging;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Placement;
using Monolith.Toggles.Contracts;

namespace Monolith.Toggles.Evaluation;

/// <summary>
/// The per-instance evaluation cache behind <see cref="IFeatureToggles"/>. A hit (tenant and project loaded)
/// completes synchronously without allocating. Entries are keyed by tenant schema and dropped whole when the
/// tenant's toggles change: at once for this instance's own writes, through <see cref="ToggleChangeListener"/>
/// for everyone's. A load that overlaps an invalidation is used for its own request but not kept.
/// </summary>
internal sealed partial class ToggleCache(ToggleStore store, TenantContext tenants, ILogger<ToggleCache> logger) : IFeatureToggles
{
    private const int MaxTenants = 10_000;

    /// <summary>How long a tenant's state stays cached without being used (<see cref="ForgetIdle"/>).</summary>
    public static readonly TimeSpan IdleTenant = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, TenantToggles> entries = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<TenantToggles> dropped = new();
    private long epoch;

    public int Count => entries.Count;

    public ValueTask<ToggleEvaluation> EvaluateAsync(string key, Guid? projectId = null, CancellationToken ct = default)
    {
        var tenant = tenants.Current;
        if (tenant is null || key is null)
        {
            return ValueTask.FromResult(new ToggleEvaluation(key ?? string.Empty, false, ToggleReason.Error));
        }

        if (entries.TryGetValue(tenant.SchemaName, out var state) && state.TenantId == tenant.Id)
        {
            state.Idle.Used();
            if (projectId is not { } project)
            {
                return ValueTask.FromResult(state.Evaluate(key, null, null));
            }

            if (state.Projects.TryGetValue(project, out var overrides))
            {
                return ValueTask.FromResult(state.Evaluate(key, project, overrides));
            }
        }

        return EvaluateSlowAsync(key, projectId, ct);
    }

    /// <summary>The tenant's state (loading it on a miss). Throws on database failure: for endpoints, not for evaluation.</summary>
    public async ValueTask<TenantToggles> GetTenantAsync(CancellationToken ct)
    {
        var tenant = tenants.Required;
        if (entries.TryGetValue(tenant.SchemaName, out var state) && state.TenantId == tenant.Id)
        {
            state.Idle.Used();
            return state;
        }

        var seen = Volatile.Read(ref epoch);
        state = await store.LoadTenantAsync(ct);
        if (entries.Count >= MaxTenants)
        {
            Clear();
        }

        entries[tenant.SchemaName] = state;
        if (Volatile.Read(ref epoch) != seen
            && entries.TryRemove(new KeyValuePair<string, TenantToggles>(tenant.SchemaName, state)))
        {
            // A change arrived while this state loaded: it is not kept for the next caller, but this caller still
            // evaluates through it, and those marks are owed to the usage table like any dropped entry's.
            Keep(state);
        }

        return state;
    }

    public async ValueTask<FrozenDictionary<string, bool>> GetProjectAsync(TenantToggles state, Guid projectId, CancellationToken ct)
    {
        if (state.Projects.TryGetValue(projectId, out var overrides))
        {
            return overrides;
        }

        var seen = Volatile.Read(ref epoch);
        overrides = await store.LoadProjectAsync(projectId, ct);
        state.AddProject(projectId, overrides);
        if (Volatile.Read(ref epoch) != seen)
        {
            state.Projects.TryRemove(new KeyValuePair<Guid, FrozenDictionary<string, bool>>(projectId, overrides));
        }

        return overrides;
    }

    /// <summary>Evaluates through the cache, loading what is missing; throws on database failure (endpoints answer it as a 5xx).</summary>
    public async ValueTask<ToggleEvaluation> EvaluateOrThrowAsync(string key, Guid? projectId, CancellationToken ct)
    {
        var state = await GetTenantAsync(ct);
        var overrides = projectId is { } project ? await GetProjectAsync(state, project, ct) : null;
        return state.Evaluate(key, projectId, overrides);
    }

    /// <summary>Drops what this instance cached for one tenant schema.</summary>
    public void Invalidate(string schema)
    {
        Interlocked.Increment(ref epoch);
        if (entries.TryRemove(schema, out var removed))
        {
            Keep(removed);
        }
    }

    public void Clear()
    {
        Interlocked.Increment(ref epoch);
        foreach (var schema in entries.Keys)
        {
            Invalidate(schema);
        }
    }

    /// <summary>What was evaluated since the last call, per tenant, including entries dropped meanwhile (for the stale report).</summary>
    public List<(TenantInfo Tenant, List<string> Keys)> TakeUsage()
    {
        var usage = new List<(TenantInfo, List<string>)>();
        while (dropped.TryDequeue(out var state))
        {
            Collect(state);
        }

        foreach (var state in entries.Values)
        {
            Collect(state);
        }

        return usage;

        void Collect(TenantToggles state)
        {
            var keys = state.TakeEvaluated();
            if (keys.Count > 0 && state.Tenant is { } tenant)
            {
                usage.Add((tenant, keys));
            }
        }
    }

    private void Keep(TenantToggles removed)
    {
        // Its evaluation marks are still owed to the usage table; bounded so a churning cache cannot grow it without end.
        if (removed.Tenant is not null && dropped.Count < MaxTenants)
        {
            dropped.Enqueue(removed);
        }
    }

    /// <summary>
    /// Drops the cached tenants of <paramref name="server"/> not used for <see cref="IdleTenant"/> (they reload on use), so
    /// that the poll follows the tenants in use rather than every tenant ever served. Called before each poll: a tenant
    /// used since the previous call counts as used at <paramref name="now"/>.
    /// </summary>
    public void ForgetIdle(string server, DateTimeOffset now)
    {
        foreach (var (schema, state) in entries)
        {
            if ((state.Tenant?.Server ?? TenantServers.Catalog) == server && state.Idle.IsIdle(now, IdleTenant))
            {
                Invalidate(schema);
            }
        }
    }

    /// <summary>The cached tenants of <paramref name="server"/> and the versions they were loaded at (for the poll fallback).</summary>
    public List<(string Schema, long Version)> Versions(string server)
    {
        var versions = new List<(string, long)>(entries.Count);
        foreach (var (schema, state) in entries)
        {
            if ((state.Tenant?.Server ?? TenantServers.Catalog) == server)
            {
                versions.Add((schema, state.Version));
            }
        }

        return versions;
    }

    private async ValueTask<ToggleEvaluation> EvaluateSlowAsync(string key, Guid? projectId, CancellationToken ct)
    {
        try
        {
            return await EvaluateOrThrowAsync(key, projectId, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            LogEvaluationFailed(logger, e);
            return new ToggleEvaluation(key, false, ToggleReason.Error);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Feature toggle evaluation could not read the toggles; evaluated as disabled")]
    private static partial void LogEvaluationFailed(ILogger logger, Exception exception);
}
