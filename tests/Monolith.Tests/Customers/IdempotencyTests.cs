using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.SharedKernel.Context;
using Monolith.Tests.Support;

namespace Monolith.Tests.Customers;

[Trait("Category", Categories.Integration)]
public sealed class IdempotencyTests(MonolithFixture fixture) : CustomersTest(fixture)
{
    [Fact]
    public async Task Replaying_a_key_with_the_same_body_returns_the_same_201_and_creates_one_row()
    {
        var client = await OwnerAsync();
        var body = CustomerBuilder.Customer();

        var first = await client.SendAsync(Request(HttpMethod.Post, "/customers", body, idempotencyKey: "create-acme-1"));
        var second = await client.SendAsync(Request(HttpMethod.Post, "/customers", body, idempotencyKey: "create-acme-1"));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.Equal(first.Headers.ETag, second.Headers.ETag);
        Assert.Equal(first.Content.Headers.ContentType, second.Content.Headers.ContentType);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM customers"));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM projects"));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM idempotency_keys"));
    }

    [Fact]
    public async Task Concurrent_requests_with_one_key_create_one_row_and_answer_alike()
    {
        var client = await OwnerAsync();
        var body = CustomerBuilder.Customer();

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => client.SendAsync(Request(HttpMethod.Post, "/customers", body, idempotencyKey: "burst"))));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        Assert.Single(responses.Select(r => r.Headers.Location).Distinct());
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM customers"));
    }

    [Fact]
    public async Task Reusing_a_key_with_another_body_is_422_and_creates_nothing()
    {
        var client = await OwnerAsync();
        Assert.Equal(HttpStatusCode.Created, (await client.SendAsync(Request(HttpMethod.Post, "/customers", CustomerBuilder.Customer(), idempotencyKey: "k-1"))).StatusCode);

        var problem = await ProblemAsync(
            await client.SendAsync(Request(HttpMethod.Post, "/customers", CustomerBuilder.Customer(), idempotencyKey: "k-1")),
            HttpStatusCode.UnprocessableEntity);

        Assert.Equal("/problems/idempotency-key-reused", problem.GetProperty("type").GetString());
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM customers"));
    }

    [Fact]
    public async Task The_same_key_on_another_endpoint_is_422()
    {
        var client = await OwnerAsync();
        var customer = await client.SendAsync(Request(HttpMethod.Post, "/customers", CustomerBuilder.Customer(), idempotencyKey: "shared"));
        var id = (await customer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        await ProblemAsync(
            await client.SendAsync(Request(HttpMethod.Post, $"/customers/{id}/projects", CustomerBuilder.Project(), idempotencyKey: "shared")),
            HttpStatusCode.UnprocessableEntity);
    }

    [Fact]
    public async Task A_refused_request_is_not_recorded_so_the_corrected_one_may_use_the_key()
    {
        var client = await OwnerAsync();
        var bad = await client.SendAsync(Request(HttpMethod.Post, "/customers", CustomerBuilder.Customer().With("email", "nope"), idempotencyKey: "fix-me"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

        var good = await client.SendAsync(Request(HttpMethod.Post, "/customers", CustomerBuilder.Customer(), idempotencyKey: "fix-me"));
        Assert.Equal(HttpStatusCode.Created, good.StatusCode);
    }

    [Fact]
    public async Task A_conflict_under_a_key_rolls_back_and_records_nothing()
    {
        var client = await OwnerAsync();
        await CreateCustomerAsync(client, CustomerBuilder.Customer(email: "taken@acme.example"));

        var conflict = await client.SendAsync(Request(HttpMethod.Post, "/customers", CustomerBuilder.Customer(email: "TAKEN@acme.example"), idempotencyKey: "dup"));

        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM idempotency_keys"));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM customers"));
    }

    [Fact]
    public async Task Keys_belong_to_their_caller()
    {
        var first = await Fixture.ClientAsAsync(Alpha, Roles.Member);
        var second = await Fixture.ClientAsAsync(Alpha, Roles.Member);

        Assert.Equal(HttpStatusCode.Created, (await first.SendAsync(Request(HttpMethod.Post, "/customers", CustomerBuilder.Customer(), idempotencyKey: "mine"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await second.SendAsync(Request(HttpMethod.Post, "/customers", CustomerBuilder.Customer(), idempotencyKey: "mine"))).StatusCode);
        Assert.Equal(2L, await ScalarAsync<long>("SELECT count(*) FROM customers"));
    }

    [Fact]
    public async Task An_expired_key_is_forgotten()
    {
        var client = await OwnerAsync();
        Assert.Equal(HttpStatusCode.Created, (await client.SendAsync(Request(HttpMethod.Post, "/customers", CustomerBuilder.Customer(), idempotencyKey: "old"))).StatusCode);
        await ScalarAsync<int>("WITH u AS (UPDATE idempotency_keys SET created_at = now() - interval '25 hours' RETURNING 1) SELECT count(*)::int FROM u");

        var again = await client.SendAsync(Request(HttpMethod.Post, "/customers", CustomerBuilder.Customer(), idempotencyKey: "old"));

        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.False(again.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2L, await ScalarAsync<long>("SELECT count(*) FROM customers"));
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("tab\tinside")]
    [InlineData(null)]
    public async Task A_malformed_key_is_400(string? key)
    {
        key ??= new string('k', 256);
        var client = await OwnerAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/customers") { Content = JsonContent.Create(CustomerBuilder.Customer()) };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM customers"));
    }
}
