using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Telemetry;
using Monolith.Tenancy.Catalog;

namespace Monolith.Tenancy.Resolution;

/// <summary>
/// Names the resolved tenant on the request's span (<c>monolith.tenant</c>, always) and, with
/// <c>Telemetry:TenantLabel</c>, on its request-duration metric (<c>tenant</c>; off by default, docs/adr/0060).
/// </summary>
internal sealed class TenantTelemetry(IOptions<TelemetryOptions> options)
{
    public const string SpanAttribute = "monolith.tenant";
    public const string MetricLabel = "tenant";

    private static readonly object TenantItem = new();

    private readonly bool label = options.Value.Enabled && options.Value.TenantLabel;

    /// <summary>The request's tenant once resolved, also where the tenant context has been left (the exception handler).</summary>
    public static string? TenantOf(HttpContext context) => ResolvedOf(context)?.Identifier;

    /// <summary>The catalog row the request was resolved with (its server when it started), for the error handlers.</summary>
    public static TenantInfo? ResolvedOf(HttpContext context) => context.Items.TryGetValue(TenantItem, out var tenant) ? tenant as TenantInfo : null;

    internal static void Remember(HttpContext context, TenantInfo tenant) => context.Items[TenantItem] = tenant;

    public void Tag(HttpContext context, TenantInfo resolved)
    {
        Remember(context, resolved);
        var tenant = resolved.Identifier;
        if (context.Features.Get<IHttpActivityFeature>()?.Activity is { IsAllDataRequested: true } activity)
        {
            activity.SetTag(SpanAttribute, tenant);
        }

        if (label && context.Features.Get<IHttpMetricsTagsFeature>() is { } metrics)
        {
            metrics.Tags.Add(new KeyValuePair<string, object?>(MetricLabel, tenant));
        }
    }
}
