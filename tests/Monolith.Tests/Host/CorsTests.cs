using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Access;
using Monolith.Tests.Customers;
using Monolith.Tests.Support;

namespace Monolith.Tests.Host;

/// <summary>
/// CONTRACT §2 CORS on a host of its own with two allowed origins: their preflights are answered before
/// authentication and tenant resolution, their requests see the exposed headers; any other origin gets no CORS
/// header at all, and neither does anyone on a host that allows none (the default).
/// </summary>
[Trait("Category", Categories.Security)]
public sealed class CorsTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    private const string Allowed = "https://app.example.test";
    private const string AllowedWithPort = "http://localhost:3000";
    private const string Other = "https://evil.example.test";

    private static readonly string[] RequestHeaders = ["Authorization", "Content-Type", "X-Tenant", "If-Match", "Idempotency-Key", "X-Request-Id"];
    private static readonly string[] ExposedHeaders = ["ETag", "Location", "Retry-After", "X-Request-Id"];

    private MonolithFactory factory = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        factory = new MonolithFactory(Fixture.Connections, new Dictionary<string, string?>
        {
            ["Cors:AllowedOrigins:0"] = Allowed,
            ["Cors:AllowedOrigins:1"] = AllowedWithPort + "/", // a trailing slash is forgiven
        });
    }

    public override async Task DisposeAsync() => await factory.DisposeAsync();

    private static HttpRequestMessage Preflight(string path, string origin, string method = "PATCH", string? headers = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", headers ?? string.Join(", ", RequestHeaders).ToLowerInvariant());
        return request;
    }

    private static IEnumerable<string> Values(HttpResponseMessage response, string header) =>
        response.Headers.TryGetValues(header, out var values)
            ? values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            : [];

    private static void AssertNoCorsHeaders(HttpResponseMessage response) =>
        Assert.DoesNotContain(response.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));

    [Theory]
    [InlineData("/customers/0190b7a4-0000-7000-8000-000000000000", Allowed)] // tenant endpoint: no tenant, no token
    [InlineData("/platform/tenants", AllowedWithPort)]                      // platform endpoint: no key
    [InlineData("/users", Allowed)]
    public async Task A_preflight_from_an_allowed_origin_is_answered_before_authentication_and_tenant_resolution(string path, string origin)
    {
        using var request = Preflight(path, origin);
        var response = await factory.CreateClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(origin, Values(response, "Access-Control-Allow-Origin").Single());
        Assert.Contains("PATCH", Values(response, "Access-Control-Allow-Methods"));
        var allowedHeaders = Values(response, "Access-Control-Allow-Headers").ToList();
        foreach (var header in RequestHeaders)
        {
            Assert.Contains(allowedHeaders, h => string.Equals(h, header, StringComparison.OrdinalIgnoreCase));
        }

        Assert.True(int.Parse(Values(response, "Access-Control-Max-Age").Single(), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Empty(Values(response, "Access-Control-Allow-Credentials"));
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public async Task Every_method_of_the_api_is_allowed(string method)
    {
        using var request = Preflight("/customers", Allowed, method, "authorization");
        var response = await factory.CreateClient().SendAsync(request);
        Assert.Contains(method, Values(response, "Access-Control-Allow-Methods"));
    }

    [Fact]
    public async Task A_preflight_from_another_origin_gets_no_cors_headers()
    {
        using var request = Preflight("/customers", Other);
        AssertNoCorsHeaders(await factory.CreateClient().SendAsync(request));

        using var lookalike = Preflight("/customers", "https://app.example.test.evil.example");
        AssertNoCorsHeaders(await factory.CreateClient().SendAsync(lookalike));
    }

    [Fact]
    public async Task A_preflight_asking_for_the_platform_key_header_is_not_allowed_it()
    {
        using var request = Preflight("/platform/tenants", Allowed, "GET", "x-platform-key");
        var response = await factory.CreateClient().SendAsync(request);
        Assert.DoesNotContain(Values(response, "Access-Control-Allow-Headers"), h => h.Equals("X-Platform-Key", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task An_allowed_origins_request_sees_the_exposed_headers_on_success_and_on_errors()
    {
        var client = factory.TenantClient(MonolithFixture.Alpha);
        client.DefaultRequestHeaders.Add("Origin", Allowed);
        var tokens = await factory.LoginAsync(MonolithFixture.Alpha, MonolithFixture.OwnerEmail(MonolithFixture.Alpha), MonolithFixture.OwnerPassword);

        var anonymous = await client.GetAsync("/customers"); // 401, still readable by the browser
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(Allowed, Values(anonymous, "Access-Control-Allow-Origin").Single());

        client.WithBearer(tokens.AccessToken);
        var created = await client.PostAsJsonAsync("/customers", CustomerBuilder.Customer());
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(Allowed, Values(created, "Access-Control-Allow-Origin").Single());
        var exposed = Values(created, "Access-Control-Expose-Headers").ToList();
        foreach (var header in ExposedHeaders)
        {
            Assert.Contains(exposed, h => string.Equals(h, header, StringComparison.OrdinalIgnoreCase));
        }

        Assert.Contains("Origin", Values(created, "Vary"));
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var read = await client.GetAsync($"/customers/{id}");
        Assert.NotNull(read.Headers.ETag);
        Assert.Equal(Allowed, Values(read, "Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task Another_origins_request_is_served_without_cors_headers()
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add("Origin", Other);
        var response = await client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertNoCorsHeaders(response);
    }

    [Fact]
    public async Task By_default_no_origin_is_allowed()
    {
        using var preflight = Preflight("/customers", Allowed);
        AssertNoCorsHeaders(await Fixture.Factory.CreateClient().SendAsync(preflight));

        var client = Fixture.Factory.CreateClient();
        client.DefaultRequestHeaders.Add("Origin", Allowed);
        AssertNoCorsHeaders(await client.GetAsync("/health/live"));
    }

    [Fact]
    public void An_allowed_origin_that_is_not_an_origin_is_a_start_up_error()
    {
        using var broken = new MonolithFactory(Fixture.Connections, new Dictionary<string, string?>
        {
            ["Cors:AllowedOrigins:0"] = "https://app.example.test/some/path",
        });
        var error = Assert.ThrowsAny<Exception>(() => broken.Server);
        var text = string.Join(" | ", Chain(error));
        Assert.Contains("Cors__AllowedOrigins__0", text, StringComparison.Ordinal);
    }

    private static IEnumerable<string> Chain(Exception? error)
    {
        for (; error is not null; error = error.InnerException)
        {
            yield return error.Message;
        }
    }
}
