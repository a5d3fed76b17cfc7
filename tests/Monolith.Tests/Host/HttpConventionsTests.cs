using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Support;

namespace Monolith.Tests.Host;

[Trait("Category", Categories.Integration)]
public sealed class HttpConventionsTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    [Fact]
    public async Task Every_response_carries_a_request_id_and_echoes_the_clients()
    {
        var client = Fixture.Factory.CreateClient();
        var generated = await client.GetAsync("/health/live");
        Assert.False(string.IsNullOrEmpty(generated.Headers.GetValues("X-Request-Id").Single()));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        request.Headers.Add("X-Request-Id", "abc-123");
        var echoed = await client.SendAsync(request);
        Assert.Equal("abc-123", echoed.Headers.GetValues("X-Request-Id").Single());
    }

    [Fact]
    public async Task A_request_id_that_could_forge_log_lines_is_replaced()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        request.Headers.TryAddWithoutValidation("X-Request-Id", "abc\tdef<script>");
        var response = await Fixture.Factory.CreateClient().SendAsync(request);
        Assert.NotEqual("abc\tdef<script>", response.Headers.GetValues("X-Request-Id").Single());
    }

    [Fact]
    public async Task Unknown_routes_are_problem_details()
    {
        var response = await Fixture.Factory.CreateClient().GetAsync("/no-such-thing");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(404, problem.GetProperty("status").GetInt32());
        Assert.True(problem.TryGetProperty("traceId", out _));
    }

    [Fact]
    public async Task Unknown_json_members_are_rejected_with_400()
    {
        var response = await Fixture.Factory.PlatformClient().PostAsJsonAsync("/platform/tenants",
            new { identifier = "acme-x", name = "Acme", ownerEmail = "o@acme.test", status = "active" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("status", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Monolith.", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_json_is_400_not_500()
    {
        using var content = new StringContent("{\"identifier\": ", System.Text.Encoding.UTF8, "application/json");
        var response = await Fixture.Factory.PlatformClient().PostAsync("/platform/tenants", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Health_openapi_and_docs_are_served()
    {
        var client = Fixture.Factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        var openApi = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        Assert.True(openApi.GetProperty("paths").TryGetProperty("/platform/tenants", out _));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/docs")).StatusCode);
    }
}
