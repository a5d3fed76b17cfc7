using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Support;
using Monolith.Tests.Toggles;

namespace Monolith.Tests.SharedKernel;

/// <summary>
/// The shared conventions as every module answers them through HTTP: unknown query parameters on every list are a 400
/// naming them (the documented ones pass), and If-Match is compared strongly, accepts <c>*</c> and lists.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class SharedConventionsOverHttpTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    private const string Tenant = MonolithFixture.Alpha;

    private async Task<HttpClient> OwnerAsync()
    {
        var owner = Fixture.Factory.TenantClient(Tenant);
        await owner.AuthorizeAsOwnerAsync(Fixture, Tenant);
        return owner;
    }

    private static async Task<string[]> ProblemFieldsAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("/problems/validation", problem.GetProperty("type").GetString());
        return problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).ToArray();
    }

    [Theory]
    [InlineData("/users?rol=admin", "rol")]
    [InlineData("/users?limit=5&Status=active", "Status")]
    [InlineData("/features?stale=30", "stale")]
    [InlineData("/features/some-key/schedule?page=2", "page")]
    [InlineData("/projects/0190a5b0-0000-7000-8000-000000000000/features?sort=key", "sort")]
    [InlineData("/audit-events?actor=someone", "actor")]
    [InlineData("/customers?stauts=active", "stauts")]
    [InlineData("/customers/0190a5b0-0000-7000-8000-000000000000/projects?q=x", "q")]
    public async Task A_tenant_list_answers_an_unknown_query_parameter_with_400_naming_it(string path, string parameter)
    {
        var owner = await OwnerAsync();
        Assert.Equal([parameter], await ProblemFieldsAsync(await owner.GetAsync(path)));
    }

    [Theory]
    [InlineData("/platform/tenants?state=active", "state")]
    [InlineData("/platform/logs?tenants=alpha", "tenants")]
    [InlineData("/platform/jobs?type=retention", "type")]
    public async Task A_platform_list_answers_an_unknown_query_parameter_with_400_naming_it(string path, string parameter)
    {
        using var platform = Fixture.Factory.PlatformClient();
        Assert.Equal([parameter], await ProblemFieldsAsync(await platform.GetAsync(path)));
    }

    [Theory]
    [InlineData("/users?role=member&status=active&limit=5")]
    [InlineData("/features?limit=5&staleForDays=30")]
    [InlineData("/audit-events?entityType=user&action=create&from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&limit=5")]
    [InlineData("/customers?q=acme&status=active&sort=name&limit=5")]
    public async Task A_tenant_list_takes_every_documented_parameter(string path)
    {
        var owner = await OwnerAsync();
        var response = await owner.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("/platform/tenants?status=active&limit=5")]
    [InlineData("/platform/logs?tenant=alpha&level=error&from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&q=x&limit=5")]
    [InlineData("/platform/jobs?kind=retention&limit=5")]
    public async Task A_platform_list_takes_every_documented_parameter(string path)
    {
        using var platform = Fixture.Factory.PlatformClient();
        var response = await platform.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_one_page_list_takes_limit_and_cursor()
    {
        var owner = await OwnerAsync();
        await owner.DefineAsync("reports", false);
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/features/reports/schedule?limit=5")).StatusCode);
    }

    private static HttpRequestMessage WithIfMatch(HttpMethod method, string path, object? body, string ifMatch)
    {
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        Assert.True(request.Headers.TryAddWithoutValidation("If-Match", ifMatch));
        return request;
    }

    [Fact]
    public async Task Users_if_match_weak_is_412_star_and_a_list_holding_the_current_tag_pass()
    {
        var owner = await OwnerAsync();
        var user = await Fixture.CreateUserAsync(Tenant, "member");
        var etag = (await owner.GetAsync($"/users/{user.Id}")).Headers.ETag!.Tag;

        using var weak = WithIfMatch(HttpMethod.Patch, $"/users/{user.Id}", new { name = "Weak" }, "W/" + etag);
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await owner.SendAsync(weak)).StatusCode);
        Assert.NotEqual("Weak", (await owner.GetFromJsonAsync<JsonElement>($"/users/{user.Id}")).GetProperty("name").GetString());

        using var star = WithIfMatch(HttpMethod.Patch, $"/users/{user.Id}", new { name = "Star" }, "*");
        var starred = await owner.SendAsync(star);
        Assert.Equal(HttpStatusCode.OK, starred.StatusCode);

        using var list = WithIfMatch(HttpMethod.Patch, $"/users/{user.Id}", new { name = "Listed" }, $"\"0\", {etag}, {starred.Headers.ETag!.Tag}");
        Assert.Equal(HttpStatusCode.OK, (await owner.SendAsync(list)).StatusCode);

        using var stale = WithIfMatch(HttpMethod.Delete, $"/users/{user.Id}", null, etag);
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await owner.SendAsync(stale)).StatusCode);
        var current = (await owner.GetAsync($"/users/{user.Id}")).Headers.ETag!.Tag;
        using var delete = WithIfMatch(HttpMethod.Delete, $"/users/{user.Id}", null, $"W/{current}, {current}");
        Assert.Equal(HttpStatusCode.NoContent, (await owner.SendAsync(delete)).StatusCode);
    }

    [Fact]
    public async Task Toggles_if_match_weak_is_412_star_and_a_list_holding_the_current_tag_pass()
    {
        var owner = await OwnerAsync();
        await owner.DefineAsync("reports", false);
        var etag = (await owner.GetAsync("/features/reports")).Headers.ETag!.Tag;

        using var weak = WithIfMatch(HttpMethod.Put, "/features/reports", new { enabled = true }, "W/" + etag);
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await owner.SendAsync(weak)).StatusCode);
        Assert.False((await owner.GetFromJsonAsync<JsonElement>("/features/reports")).GetProperty("enabled").GetBoolean());

        using var star = WithIfMatch(HttpMethod.Put, "/features/reports", new { enabled = true }, "*");
        var starred = await owner.SendAsync(star);
        Assert.Equal(HttpStatusCode.OK, starred.StatusCode);

        using var list = WithIfMatch(HttpMethod.Delete, "/features/reports", null, $"\"0-0\", {starred.Headers.ETag!.Tag}");
        Assert.Equal(HttpStatusCode.NoContent, (await owner.SendAsync(list)).StatusCode);

        using var missing = WithIfMatch(HttpMethod.Put, "/features/reports", new { enabled = true }, "*");
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await owner.SendAsync(missing)).StatusCode);
    }

    [Fact]
    public async Task Projects_if_match_weak_is_412_star_and_a_list_holding_the_current_tag_pass()
    {
        var owner = await OwnerAsync();
        var created = await owner.PostAsJsonAsync("/customers", new
        {
            name = "Acme", email = $"ops-{Guid.NewGuid():N}@acme.example", projects = new[] { new { name = "One" }, new { name = "Two" } },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var project = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("projects")[1].GetProperty("id").GetGuid();
        var etag = (await owner.GetAsync($"/projects/{project}")).Headers.ETag!.Tag;

        using var weak = WithIfMatch(HttpMethod.Patch, $"/projects/{project}", new { name = "Weak" }, "W/" + etag);
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await owner.SendAsync(weak)).StatusCode);

        using var star = WithIfMatch(HttpMethod.Patch, $"/projects/{project}", new { name = "Star" }, "*");
        var starred = await owner.SendAsync(star);
        Assert.Equal(HttpStatusCode.OK, starred.StatusCode);

        using var list = WithIfMatch(HttpMethod.Delete, $"/projects/{project}", null, $"{etag}, {starred.Headers.ETag!.Tag}");
        Assert.Equal(HttpStatusCode.NoContent, (await owner.SendAsync(list)).StatusCode);
    }
}
