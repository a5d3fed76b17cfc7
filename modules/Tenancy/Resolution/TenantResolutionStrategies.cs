using Microsoft.AspNetCore.Http;

namespace Monolith.Tenancy.Resolution;

/// <summary>Names the tenant a request asks for, or null when this strategy has nothing to say.</summary>
public interface ITenantResolutionStrategy
{
    string Name { get; }

    string? Resolve(HttpContext context);
}

/// <summary><c>X-Tenant: acme</c>.</summary>
internal sealed class HeaderStrategy : ITenantResolutionStrategy
{
    public const string HeaderName = "X-Tenant";

    public string Name => "header";

    public string? Resolve(HttpContext context)
    {
        var value = context.Request.Headers[HeaderName].ToString();
        return value.Length == 0 ? null : value.Trim();
    }
}

/// <summary><c>acme.example.com</c> when the base domain is <c>example.com</c>; exactly one label deep.</summary>
internal sealed class HostStrategy(string? baseDomain) : ITenantResolutionStrategy
{
    private readonly string? suffix = string.IsNullOrWhiteSpace(baseDomain) ? null : "." + baseDomain.Trim().TrimStart('.').ToLowerInvariant();

    public string Name => "host";

    public string? Resolve(HttpContext context)
    {
        if (suffix is null)
        {
            return null;
        }

        var host = context.Request.Host.Host.ToLowerInvariant();
        if (!host.EndsWith(suffix, StringComparison.Ordinal) || host.Length == suffix.Length)
        {
            return null;
        }

        var label = host[..^suffix.Length];
        return label.Contains('.', StringComparison.Ordinal) ? null : label;
    }
}

/// <summary>The <c>tenant</c> claim of an authenticated bearer token.</summary>
internal sealed class ClaimStrategy : ITenantResolutionStrategy
{
    public const string ClaimType = "tenant";

    /// <summary>The tenant's id (the catalog's <c>id</c>): an identifier can be taken again by another tenant, an id cannot.</summary>
    public const string TenantIdClaimType = "tid";

    public string Name => "claim";

    public string? Resolve(HttpContext context) => TokenTenant(context);

    public static string? TokenTenant(HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true ? context.User.FindFirst(ClaimType)?.Value : null;

    /// <summary>The <c>tid</c> claim of an authenticated bearer token; null when absent or not an id.</summary>
    public static Guid? TokenTenantId(HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true && Guid.TryParse(context.User.FindFirst(TenantIdClaimType)?.Value, out var id) ? id : null;
}
