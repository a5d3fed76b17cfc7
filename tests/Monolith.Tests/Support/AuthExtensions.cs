using System.Net.Http.Headers;
using Monolith.Access.Tokens;

namespace Monolith.Tests.Support;

/// <summary>Signs test clients in with real bearer tokens.</summary>
public static class AuthExtensions
{
    /// <summary>Signs the client in as the tenant's owner (<see cref="MonolithFixture.OwnerEmail"/>).</summary>
    public static Task AuthorizeAsOwnerAsync(this HttpClient client, MonolithFixture fixture, string tenant)
    {
        var token = fixture.Service<AccessTokenIssuer>().Issue(Guid.CreateVersion7(), MonolithFixture.OwnerEmail(tenant), "owner", tenant);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
        return Task.CompletedTask;
    }

    /// <summary>A client of the tenant signed in as a fresh user with the given role.</summary>
    public static Task<HttpClient> ClientAsAsync(this MonolithFixture fixture, string tenant, string role)
    {
        var client = fixture.Factory.TenantClient(tenant);
        var token = fixture.Service<AccessTokenIssuer>().Issue(Guid.CreateVersion7(), $"{role}-{Guid.NewGuid():N}@{tenant}.test", role, tenant);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
        return Task.FromResult(client);
    }
}
