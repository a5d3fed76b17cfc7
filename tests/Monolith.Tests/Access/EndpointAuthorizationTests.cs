using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Monolith.SharedKernel.Context;
using Monolith.Tests.Support;

namespace Monolith.Tests.Access;

/// <summary>Nothing is open by accident: every endpoint names a role policy or is anonymous on a short, explicit list.</summary>
[Trait("Category", Categories.Security)]
public sealed class EndpointAuthorizationTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    /// <summary>Route prefixes that may be anonymous, and why.</summary>
    private static readonly string[] AnonymousAllowed =
    [
        "/health/",      // liveness and readiness probes
        "/openapi/",     // the OpenAPI document
        "/docs",         // the API reference page
        "/auth/token",   // takes the credentials
        "/auth/refresh", // the refresh token is the credential
        "/auth/logout",  // the refresh token is the credential
        "/auth/password-reset", // answers alike for every address; the mail's token is the credential of the confirmation
        "/auth/verify-email",   // the mail's token is the credential
        "/invitations/accept",  // the mail's token is the credential
        "/platform",     // X-Platform-Key filter; a bearer token opens nothing there
        "/hangfire",     // the jobs dashboard: its own filter demands the platform key (header or Basic password)
        "/metrics",      // Prometheus text: its branch demands the platform key (PlatformKeyGate)
    ];

    private static readonly HashSet<string> RolePolicies = [Policies.Viewer, Policies.Member, Policies.Admin, Policies.Owner];

    public override Task InitializeAsync() => Task.CompletedTask;

    private List<RouteEndpoint> Endpoints() =>
        Fixture.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();

    private static string Name(RouteEndpoint endpoint) =>
        $"{string.Join(',', endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [])} /{endpoint.RoutePattern.RawText?.TrimStart('/')}";

    [Fact]
    public void Every_endpoint_names_a_role_policy_or_is_an_allowed_anonymous_one()
    {
        var endpoints = Endpoints();
        Assert.NotEmpty(endpoints);
        var offenders = new List<string>();
        foreach (var endpoint in endpoints)
        {
            var route = "/" + endpoint.RoutePattern.RawText?.TrimStart('/');
            if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null)
            {
                if (!AnonymousAllowed.Any(prefix => route.StartsWith(prefix, StringComparison.Ordinal)))
                {
                    offenders.Add($"{Name(endpoint)}: anonymous, not on the allow-list");
                }

                continue;
            }

            var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).ToList();
            if (!policies.Any(p => p is not null && RolePolicies.Contains(p)))
            {
                offenders.Add($"{Name(endpoint)}: no role policy");
            }
        }

        Assert.True(offenders.Count == 0, "Endpoints without an explicit authorization decision:\n" + string.Join('\n', offenders));
    }

    [Fact]
    public void The_user_and_settings_endpoints_carry_the_policies_of_the_contract()
    {
        string PolicyOf(string method, string route) =>
            Endpoints().Single(e => Name(e) == $"{method} {route}").Metadata.GetOrderedMetadata<IAuthorizeData>().Last(a => a.Policy is not null).Policy!;

        Assert.Equal(Policies.Admin, PolicyOf("GET", "/users/"));
        Assert.Equal(Policies.Admin, PolicyOf("POST", "/users/"));
        Assert.Equal(Policies.Admin, PolicyOf("DELETE", "/users/{id:guid}"));
        Assert.Equal(Policies.Viewer, PolicyOf("GET", "/me/"));
        Assert.Equal(Policies.Viewer, PolicyOf("POST", "/me/password"));
        Assert.Equal(Policies.Viewer, PolicyOf("GET", "/me/sessions"));
        Assert.Equal(Policies.Owner, PolicyOf("POST", "/me/transfer-ownership"));
        Assert.Equal(Policies.Admin, PolicyOf("POST", "/invitations/"));
        Assert.Equal(Policies.Admin, PolicyOf("POST", "/invitations/bulk"));
        Assert.Equal(Policies.Admin, PolicyOf("GET", "/invitations/"));
        Assert.Equal(Policies.Admin, PolicyOf("DELETE", "/invitations/{id:guid}"));
        Assert.Equal(Policies.Viewer, PolicyOf("GET", "/settings/"));
        Assert.Equal(Policies.Admin, PolicyOf("PUT", "/settings/{key}"));
    }
}
