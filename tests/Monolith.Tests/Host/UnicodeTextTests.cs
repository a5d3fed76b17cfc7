using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Monolith.SharedKernel.Http;
using Monolith.Tests.Customers;
using Monolith.Tests.Support;

namespace Monolith.Tests.Host;

/// <summary>
/// CONTRACT §2 "Text is Unicode": NUL or an unpaired surrogate in a query value, a JSON body, a header or a route
/// value is a 400 validation problem naming the field on every endpoint, never a 500 (PostgreSQL text cannot hold NUL; a lone surrogate has no
/// UTF-8). Shown on endpoints of several modules.
/// </summary>
[Trait("Category", Categories.Security)]
public sealed class UnicodeTextTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    private const string LoneSurrogate = "\"\\ud800\""; // JSON text: a high surrogate with no low one after it
    private const string LoneLowSurrogate = "\"x\\udc00y\"";
    private const string Nul = "\"a\\u0000b\"";

    private async Task<HttpClient> OwnerAsync()
    {
        var client = Fixture.Factory.TenantClient(MonolithFixture.Alpha);
        await client.AuthorizeAsOwnerAsync(Fixture, MonolithFixture.Alpha);
        return client;
    }

    /// <summary>400 validation problem naming the field, without echoing the text.</summary>
    private static async Task AssertInvalidTextAsync(HttpResponseMessage response, string field)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal("/problems/validation", problem.GetProperty("type").GetString());
        Assert.Equal([field], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).ToArray());
        Assert.Contains("NUL", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("\\u0000", body, StringComparison.Ordinal);
        Assert.True(response.Headers.Contains("X-Request-Id"));
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Theory]
    [InlineData("/platform/logs?q=%00x", "q")]                 // Auditing, the example
    [InlineData("/platform/tenants?status=act%00ive", "status")] // Tenancy
    public async Task A_nul_in_a_platform_query_value_is_400(string url, string field)
    {
        await AssertInvalidTextAsync(await Fixture.Factory.PlatformClient().GetAsync(url), field);
    }

    [Theory]
    [InlineData("/customers?q=ac%00me", "q")]  // Customers
    [InlineData("/users?limit=1&cursor=%00", "cursor")] // Access
    [InlineData("/features?x%00y=1", "query")] // Toggles
    [InlineData("/audit-events?action=%00", "action")] // Auditing
    public async Task A_nul_in_a_tenant_query_is_400(string url, string field)
    {
        var client = await OwnerAsync();
        await AssertInvalidTextAsync(await client.GetAsync(url), field);
    }

    [Fact]
    public async Task A_lone_surrogate_in_a_patch_body_is_400_and_changes_nothing()
    {
        var client = await OwnerAsync();
        var created = await client.PostAsJsonAsync("/customers", CustomerBuilder.Customer(name: "Before"));
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        await AssertInvalidTextAsync(await client.PatchAsync($"/customers/{id}", Json($$"""{"name": {{LoneSurrogate}}}""")), "name");
        await AssertInvalidTextAsync(await client.PatchAsync($"/customers/{id}", Json($$"""{"legalName": {{LoneLowSurrogate}}}""")), "legalName");
        await AssertInvalidTextAsync(await client.PatchAsync($"/customers/{id}", Json($$"""{"name": {{Nul}}}""")), "name");

        var after = await client.GetFromJsonAsync<JsonElement>($"/customers/{id}");
        Assert.Equal("Before", after.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Bad_text_deep_in_a_body_is_400_naming_its_path()
    {
        var client = await OwnerAsync();
        var body = $$"""{"name":"Acme","email":"a@acme.example","projects":[{"name":"One"},{"name":{{Nul}}}]}""";
        await AssertInvalidTextAsync(await client.PostAsync("/customers", Json(body)), "projects[1].name");
    }

    [Fact]
    public async Task Bad_text_in_bodies_of_every_module_is_400()
    {
        var owner = await OwnerAsync();
        var platform = Fixture.Factory.PlatformClient();

        // Tenancy (platform API and tenant settings, whose value is stored as jsonb)
        await AssertInvalidTextAsync(await platform.PostAsync("/platform/tenants",
            Json($$"""{"identifier":"text-test","name":{{Nul}},"ownerEmail":"o@text.test"}""")), "name");
        await AssertInvalidTextAsync(await owner.PutAsync("/settings/text-check",
            Json("{\"value\":{\"nested\":[" + LoneSurrogate + "]}}")), "value.nested[0]");
        // Access
        await AssertInvalidTextAsync(await owner.PostAsync("/users",
            Json($$"""{"email":"x@alpha.test","name":{{LoneSurrogate}},"role":"viewer","password":"long-enough-password"}""")), "name");
        await AssertInvalidTextAsync(await owner.PostAsync("/auth/token",
            Json($$"""{"email":{{Nul}},"password":"whatever-it-is"}""")), "email");
        // Toggles
        await AssertInvalidTextAsync(await owner.PutAsync("/features/text-check",
            Json($$"""{"description":{{Nul}},"enabled":true}""")), "description");
        // a member name is text too
        await AssertInvalidTextAsync(await owner.PutAsync("/features/text-check",
            Json("""{"descr\u0000iption":"x","enabled":true}""")), "body");
    }

    [Fact]
    public async Task Bad_text_in_a_header_is_400()
    {
        var client = await OwnerAsync();
        using var withTenant = new HttpRequestMessage(HttpMethod.Get, "/customers");
        withTenant.Headers.TryAddWithoutValidation("X-Tenant", "al\0pha");
        var plain = Fixture.Factory.CreateClient();
        await AssertInvalidTextAsync(await plain.SendAsync(withTenant), "X-Tenant");

        using var idempotency = new HttpRequestMessage(HttpMethod.Post, "/customers") { Content = JsonContent.Create(CustomerBuilder.Customer()) };
        idempotency.Headers.TryAddWithoutValidation("Idempotency-Key", "key-\ud800");
        await AssertInvalidTextAsync(await client.SendAsync(idempotency), "Idempotency-Key");

        using var anyHeader = new HttpRequestMessage(HttpMethod.Get, "/platform/tenants");
        anyHeader.Headers.TryAddWithoutValidation("X-Platform-Key", MonolithFactory.PlatformKey);
        anyHeader.Headers.TryAddWithoutValidation("X-Something", "a\0b");
        await AssertInvalidTextAsync(await plain.SendAsync(anyHeader), "X-Something");
    }

    [Theory]
    [InlineData("/platform/tenants/%ED%A0%80")] // a surrogate, UTF-8 encoded: not UTF-8, so never decoded into one
    [InlineData("/features/a%ED%B0%80b")]
    [InlineData("/customers/%C0%80")]           // an overlong NUL
    public async Task Malformed_utf8_in_a_route_value_never_reaches_an_endpoint_as_bad_text(string url)
    {
        // A NUL (%00) in the path is refused by the server before the application (Kestrel answers 400; the test
        // server's URL decoder throws), and the path check is exercised by UnicodeTextRuleTests. What does get
        // through is malformed UTF-8, which stays percent-encoded: an ordinary unknown value, never a 500.
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.TryAddWithoutValidation("X-Platform-Key", MonolithFactory.PlatformKey);
        var client = await OwnerAsync();
        var response = await client.SendAsync(request);
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{(int)response.StatusCode}");
    }

    [Fact]
    public async Task Text_beyond_the_basic_plane_and_escaped_pairs_are_fine()
    {
        var client = await OwnerAsync();
        var emoji = await client.PostAsJsonAsync("/customers", CustomerBuilder.Customer(name: "Acme \U0001F680 Raketen"));
        Assert.Equal(HttpStatusCode.Created, emoji.StatusCode);
        Assert.Equal("Acme \U0001F680 Raketen", (await emoji.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());

        var escaped = $$"""{"name":"Pair \ud83d\ude80","email":"pair@acme.example","projects":[{"name":"One"}]}""";
        var created = await client.PostAsync("/customers", Json(escaped));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("Pair \U0001F680", (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/customers?q=%F0%9F%9A%80")).StatusCode);
    }

    [Fact]
    public async Task Malformed_json_is_still_the_endpoints_own_400()
    {
        var client = await OwnerAsync();
        var response = await client.PostAsync("/customers", Json("{\"name\": \"unterminated"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("/problems/invalid-request", problem.GetProperty("type").GetString());
    }
}

/// <summary>The text rule itself, over any string: valid exactly when it has no NUL and strict UTF-8 can encode it.</summary>
[Trait("Category", Categories.Unit)]
public sealed class UnicodeTextRuleTests
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static bool Reference(string text)
    {
        if (text.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            StrictUtf8.GetByteCount(text);
            return true;
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }

    /// <summary>Every character as a <c>\uXXXX</c> escape: JSON that can spell any UTF-16 sequence.</summary>
    private static byte[] EscapedJson(string text)
    {
        var json = new StringBuilder("{\"v\":[1,\"");
        foreach (var c in text)
        {
            json.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
        }

        return Encoding.ASCII.GetBytes(json.Append("\"]}").ToString());
    }

    [Property(MaxTest = 1000)]
    public Property A_string_is_valid_text_exactly_when_it_has_no_nul_and_is_well_formed_utf16(NonNull<string> input)
    {
        var text = input.Get;
        return (UnicodeTextMiddleware.IsValid(text) == Reference(text)).ToProperty();
    }

    [Property(MaxTest = 1000)]
    public Property A_json_string_is_refused_exactly_when_its_text_is_invalid(NonNull<string> input)
    {
        var text = input.Get;
        var found = UnicodeTextMiddleware.FindInJson(EscapedJson(text));
        return (Reference(text) ? found is null : found is { Field: "v[1]", Where: "The JSON body at '$.v[1]'" }).ToProperty();
    }

    [Fact]
    public void Lone_surrogates_and_nul_are_invalid()
    {
        // Not [InlineData]: the runner cannot carry a lone surrogate through test discovery.
        foreach (var text in new[] { "\ud800", "\udc00", "a\ud800b", "\ud800\ud800", "\udc00\ud800", "\0", "ok\0" })
        {
            Assert.False(UnicodeTextMiddleware.IsValid(text));
            Assert.NotNull(UnicodeTextMiddleware.FindInJson(EscapedJson(text)));
        }

        Assert.True(UnicodeTextMiddleware.IsValid("\ud83d\ude80 ok"));
    }

    [Fact]
    public async Task A_nul_or_a_lone_surrogate_in_the_path_is_400_before_anything_else_runs()
    {
        foreach (var path in new[] { "/platform/tenants/al\0pha", "/features/a\ud800b" })
        {
            var context = new DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
            context.Request.Path = path;
            context.Response.Body = new MemoryStream();
            var reached = false;
            await new UnicodeTextMiddleware(_ => { reached = true; return Task.CompletedTask; }).InvokeAsync(context);
            Assert.False(reached);
            Assert.Equal(StatusCodes.Status400BadRequest, context.Response.StatusCode);
            context.Response.Body.Position = 0;
            var problem = await JsonDocument.ParseAsync(context.Response.Body);
            Assert.Equal("/problems/validation", problem.RootElement.GetProperty("type").GetString());
            Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty("path", out _));
        }
    }

    [Fact]
    public void Raw_utf8_that_is_malformed_is_invalid_and_well_formed_is_fine()
    {
        Assert.NotNull(UnicodeTextMiddleware.FindInJson([.. "{\"v\":\""u8, 0xED, 0xA0, 0x80, .. "\"}"u8])); // an encoded surrogate
        Assert.Null(UnicodeTextMiddleware.FindInJson("{\"v\":\"Grüße 🚀\", \"w\": [\"\\n\\\"\\\\\"]}"u8));
    }
}
