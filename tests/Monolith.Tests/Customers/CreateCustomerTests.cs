using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Support;

namespace Monolith.Tests.Customers;

[Trait("Category", Categories.Integration)]
public sealed class CreateCustomerTests(MonolithFixture fixture) : CustomersTest(fixture)
{
    [Fact]
    public async Task Creating_a_valid_customer_is_201_with_its_projects_a_location_and_an_etag()
    {
        var client = await OwnerAsync();
        var body = CustomerBuilder.Customer(email: "Ops@Acme.example")
            .With("projects", new object[] { CustomerBuilder.Project("Rollout", "ROLL"), CustomerBuilder.Project("Support") });

        var response = await client.PostAsJsonAsync("/customers", body);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var customer = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = customer.GetProperty("id").GetGuid();
        Assert.Equal(7, id.Version);
        Assert.Equal($"/customers/{id}", response.Headers.Location?.OriginalString);
        Assert.NotNull(response.Headers.ETag);
        Assert.Equal("Acme Logistics", customer.GetProperty("name").GetString());
        Assert.Equal("Acme Logistics GmbH", customer.GetProperty("legalName").GetString());
        Assert.Equal("Ops@Acme.example", customer.GetProperty("email").GetString());
        Assert.Equal("+4930123456", customer.GetProperty("phone").GetString());
        Assert.Equal("active", customer.GetProperty("status").GetString());
        Assert.EndsWith("Z", customer.GetProperty("createdAt").GetString());
        var projects = customer.GetProperty("projects").EnumerateArray().ToArray();
        Assert.Equal(["Rollout", "Support"], projects.Select(p => p.GetProperty("name").GetString()));
        Assert.Equal("ROLL", projects[0].GetProperty("code").GetString());
        Assert.Equal(JsonValueKind.Null, projects[1].GetProperty("code").ValueKind);
        Assert.All(projects, p => Assert.Equal(id, p.GetProperty("customerId").GetGuid()));

        var fetched = await client.GetAsync(response.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        Assert.Equal(response.Headers.ETag, fetched.Headers.ETag);
        var read = await fetched.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Ops@Acme.example", read.GetProperty("email").GetString());
    }

    [Fact]
    public async Task Optional_fields_may_be_left_out()
    {
        var client = await OwnerAsync();
        var customer = await CreateCustomerAsync(client, CustomerBuilder.Customer().Without("legalName").Without("phone"));
        Assert.Equal(JsonValueKind.Null, customer.GetProperty("legalName").ValueKind);
        Assert.Equal(JsonValueKind.Null, customer.GetProperty("phone").ValueKind);
    }

    public static TheoryData<string, string, object?> InvalidFields() => new()
    {
        { "name", "name", null },
        { "name", "name", "" },
        { "name", "name", "   " },
        { "name", "name", new string('n', 201) },
        { "name", "name", "tab\tinside" },
        { "name", "name", "nul\u0000inside" },
        { "legalName", "legalName", new string('l', 201) },
        { "email", "email", null },
        { "email", "email", "not-an-email" },
        { "email", "email", "a@b" },
        { "email", "email", "two words@acme.example" },
        { "email", "email", "x@acme.example" + new string('e', 250) },
        { "phone", "phone", "030123456" },
        { "phone", "phone", "+0301234" },
        { "phone", "phone", "+1234567890123456" },
        { "phone", "phone", "+49 30 123456" },
        { "projects", "projects", null },
        { "projects", "projects", Array.Empty<object>() },
    };

    [Theory]
    [MemberData(nameof(InvalidFields))]
    public async Task Each_invalid_field_is_400_naming_it(string field, string expectedError, object? value)
    {
        var client = await OwnerAsync();
        var body = CustomerBuilder.Customer().With(field, value);

        var problem = await ProblemAsync(await client.PostAsJsonAsync("/customers", body), HttpStatusCode.BadRequest);

        Assert.Equal("/problems/validation", problem.GetProperty("type").GetString());
        Assert.Equal([expectedError], ErrorFields(problem));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM customers"));
    }

    [Fact]
    public async Task A_customer_without_projects_is_400_and_nothing_is_written()
    {
        var client = await OwnerAsync();
        var problem = await ProblemAsync(await client.PostAsJsonAsync("/customers", CustomerBuilder.Customer().Without("projects")), HttpStatusCode.BadRequest);
        Assert.Contains("projects", ErrorFields(problem));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM customers"));
    }

    [Fact]
    public async Task Every_bad_field_is_named_at_once_including_those_of_each_project()
    {
        var client = await OwnerAsync();
        var body = CustomerBuilder.Customer().With("name", "").With("email", "nope").With("projects", new object?[]
        {
            CustomerBuilder.Project("", null),
            CustomerBuilder.Project("Fine", "dup"),
            CustomerBuilder.Project("Also fine", "DUP"),
            CustomerBuilder.Project("Long code", new string('c', 51)),
            null,
        });

        var problem = await ProblemAsync(await client.PostAsJsonAsync("/customers", body), HttpStatusCode.BadRequest);

        Assert.Equal(
            new[] { "email", "name", "projects[0].name", "projects[2].code", "projects[3].code", "projects[4]" },
            ErrorFields(problem).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Unknown_members_are_400_so_a_client_cannot_set_the_id_or_status()
    {
        var client = await OwnerAsync();
        foreach (var (field, value) in new (string, object)[] { ("id", Guid.CreateVersion7()), ("status", "inactive"), ("createdAt", "2020-01-01T00:00:00Z") })
        {
            var response = await client.PostAsJsonAsync("/customers", CustomerBuilder.Customer().With(field, value));
            await ProblemAsync(response, HttpStatusCode.BadRequest);
        }

        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM customers"));
    }

    [Fact]
    public async Task The_same_email_in_another_case_is_409_with_a_clear_detail()
    {
        var client = await OwnerAsync();
        await CreateCustomerAsync(client, CustomerBuilder.Customer(email: "billing@globex.example"));

        var problem = await ProblemAsync(
            await client.PostAsJsonAsync("/customers", CustomerBuilder.Customer(email: "BILLING@Globex.Example")), HttpStatusCode.Conflict);

        Assert.Equal("/problems/customer-email-taken", problem.GetProperty("type").GetString());
        Assert.Contains("BILLING@Globex.Example", problem.GetProperty("detail").GetString());
        Assert.Contains("ignoring case", problem.GetProperty("detail").GetString());
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM customers"));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM projects"));
    }

    [Fact]
    public async Task The_same_email_in_another_tenant_is_fine()
    {
        await CreateCustomerAsync(await OwnerAsync(Alpha), CustomerBuilder.Customer(email: "shared@example.com"));
        await CreateCustomerAsync(await OwnerAsync(Beta), CustomerBuilder.Customer(email: "shared@example.com"));
    }

    [Fact]
    public async Task An_unknown_id_is_404_and_so_is_another_tenants_id()
    {
        var alpha = await OwnerAsync(Alpha);
        var beta = await OwnerAsync(Beta);
        var customer = await CreateCustomerAsync(alpha);
        var id = customer.GetProperty("id").GetGuid();

        var unknown = await ProblemAsync(await alpha.GetAsync($"/customers/{Guid.CreateVersion7()}"), HttpStatusCode.NotFound);
        var foreign = await ProblemAsync(await beta.GetAsync($"/customers/{id}"), HttpStatusCode.NotFound);

        Assert.Equal(unknown.GetProperty("type").GetString(), foreign.GetProperty("type").GetString());
        Assert.Equal(unknown.GetProperty("detail").GetString(), foreign.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await alpha.GetAsync("/customers/not-a-uuid")).StatusCode);
    }
}
