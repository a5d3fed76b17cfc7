using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Monolith.Tests.Support;

/// <summary>Signs test clients in through the real API: <c>POST /auth/token</c>, and <c>POST /users</c> for fresh users.</summary>
public static class AuthExtensions
{
    /// <summary>Signs the client in as the tenant's owner (<see cref="MonolithFixture.OwnerEmail"/>, <see cref="MonolithFixture.OwnerPassword"/>).</summary>
    public static async Task AuthorizeAsOwnerAsync(this HttpClient client, MonolithFixture fixture, string tenant)
    {
        var tokens = await fixture.Factory.LoginAsync(tenant, MonolithFixture.OwnerEmail(tenant), MonolithFixture.OwnerPassword);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
    }

    /// <summary>A client of the tenant signed in as a fresh user with the given role (created by the owner through <c>POST /users</c>).</summary>
    public static async Task<HttpClient> ClientAsAsync(this MonolithFixture fixture, string tenant, string role)
    {
        var user = await fixture.CreateUserAsync(tenant, role);
        var client = fixture.Factory.TenantClient(tenant);
        var tokens = await fixture.Factory.LoginAsync(tenant, user.Email, user.Password);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        return client;
    }

    /// <summary>Creates a user of the role through the owner; returns its id, e-mail and password.</summary>
    public static async Task<TestUser> CreateUserAsync(this MonolithFixture fixture, string tenant, string role)
    {
        using var owner = fixture.Factory.TenantClient(tenant);
        await owner.AuthorizeAsOwnerAsync(fixture, tenant);
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var email = $"{role}-{suffix}@{tenant}.test";
        var password = $"test-password-{suffix}";
        var response = await owner.PostAsJsonAsync("/users", new { email, name = $"{role} {suffix}", role, password });
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"creating a {role} in {tenant}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return new TestUser(body.GetProperty("id").GetGuid(), email, password, role);
    }

    /// <summary><c>POST /auth/token</c>; throws unless it answers 200.</summary>
    public static async Task<TestTokens> LoginAsync(this MonolithFactory factory, string tenant, string email, string password)
    {
        using var client = factory.TenantClient(tenant);
        var response = await client.PostAsJsonAsync("/auth/token", new { email, password });
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"login as {email} in {tenant}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return new TestTokens(body.GetProperty("accessToken").GetString()!, body.GetProperty("refreshToken").GetString()!);
    }
}

public sealed record TestUser(Guid Id, string Email, string Password, string Role);

public sealed record TestTokens(string AccessToken, string RefreshToken);
