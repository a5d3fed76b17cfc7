using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.SharedKernel.Context;
using Monolith.Tests.Support;

namespace Monolith.Tests.Customers;

[Trait("Category", Categories.Security)]
public sealed class CustomersSecurityTests(MonolithFixture fixture) : CustomersTest(fixture)
{
    public static TheoryData<string> Hostile() => new()
    {
        "Robert'); DROP TABLE customers;--",
        "' OR '1'='1",
        "\"; SELECT pg_sleep(10); --",
        "<script>alert('x')</script>",
        "<img src=x onerror=alert(1)>",
        "{{7*7}} ${jndi:ldap://evil/a} %s%n",
        "100% _wild_ \\ back\\slash",
        "$$; DROP SCHEMA alpha CASCADE; $$",
        "Ünïcødé ✓ 🙂 中文",
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task Sql_and_script_strings_in_every_text_field_are_stored_and_returned_verbatim(string text)
    {
        var client = await OwnerAsync();
        var code = text.Length > 50 ? text[..50] : text;
        var body = CustomerBuilder.Customer(email: "x');DROP_TABLE--customers@evil.example", name: text)
            .With("legalName", text)
            .With("projects", new object[] { CustomerBuilder.Project(text, code) });

        var response = await client.PostAsJsonAsync("/customers", body);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("id").GetGuid();
        var read = await client.GetFromJsonAsync<JsonElement>($"/customers/{id}");
        Assert.Equal(text, read.GetProperty("name").GetString());
        Assert.Equal(text, read.GetProperty("legalName").GetString());
        Assert.Equal("x');DROP_TABLE--customers@evil.example", read.GetProperty("email").GetString());
        var project = await client.GetFromJsonAsync<JsonElement>($"/projects/{created.GetProperty("projects")[0].GetProperty("id")}");
        Assert.Equal(text, project.GetProperty("name").GetString());
        Assert.Equal(code, project.GetProperty("code").GetString());

        var warehouse = await CreateAsync(client, $"/customers/{id}/warehouses", CustomerBuilder.Warehouse(text).With("address", text + "\n" + text));
        var readWarehouse = await client.GetFromJsonAsync<JsonElement>($"/warehouses/{warehouse.GetProperty("id")}");
        Assert.Equal(text, readWarehouse.GetProperty("name").GetString());
        Assert.Equal(text + "\n" + text, readWarehouse.GetProperty("address").GetString());

        var patched = await client.PatchAsJsonAsync($"/customers/{id}", new { name = text + "!" });
        Assert.Equal(text + "!", (await patched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());

        var found = await client.GetFromJsonAsync<JsonElement>($"/customers?q={Uri.EscapeDataString(text)}");
        Assert.Equal([id], found.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetGuid()));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM customers"));
    }

    [Fact]
    public async Task Another_tenants_ids_answer_404_on_every_customers_endpoint_and_change_nothing()
    {
        var alpha = await OwnerAsync(Alpha);
        var customer = await CreateCustomerAsync(alpha, CustomerBuilder.Customer().With("projects", new object[] { CustomerBuilder.Project("A"), CustomerBuilder.Project("B") }));
        var id = customer.GetProperty("id").GetGuid();
        var project = customer.GetProperty("projects")[0].GetProperty("id").GetGuid();
        var warehouse = (await CreateAsync(alpha, $"/customers/{id}/warehouses", CustomerBuilder.Warehouse())).GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.NoContent, (await alpha.PutAsync($"/projects/{project}/warehouses/{warehouse}", null)).StatusCode);

        var beta = await OwnerAsync(Beta);
        var betaCustomer = await CreateCustomerAsync(beta);
        var betaProject = betaCustomer.GetProperty("projects")[0].GetProperty("id").GetGuid();
        var requests = new (HttpMethod Method, string Path, object? Body)[]
        {
            (HttpMethod.Get, $"/customers/{id}", null),
            (HttpMethod.Put, $"/customers/{id}", new { name = "x", email = "x@x.example" }),
            (HttpMethod.Patch, $"/customers/{id}", new { name = "x" }),
            (HttpMethod.Delete, $"/customers/{id}", null),
            (HttpMethod.Get, $"/customers/{id}/projects", null),
            (HttpMethod.Post, $"/customers/{id}/projects", CustomerBuilder.Project()),
            (HttpMethod.Get, $"/customers/{id}/warehouses", null),
            (HttpMethod.Post, $"/customers/{id}/warehouses", CustomerBuilder.Warehouse()),
            (HttpMethod.Get, $"/projects/{project}", null),
            (HttpMethod.Patch, $"/projects/{project}", new { name = "x" }),
            (HttpMethod.Delete, $"/projects/{project}", null),
            (HttpMethod.Get, $"/projects/{project}/warehouses", null),
            (HttpMethod.Put, $"/projects/{project}/warehouses/{warehouse}", null),
            (HttpMethod.Delete, $"/projects/{project}/warehouses/{warehouse}", null),
            (HttpMethod.Put, $"/projects/{betaProject}/warehouses/{warehouse}", null),
            (HttpMethod.Get, $"/warehouses/{warehouse}", null),
            (HttpMethod.Patch, $"/warehouses/{warehouse}", new { name = "x" }),
            (HttpMethod.Delete, $"/warehouses/{warehouse}", null),
        };

        foreach (var (method, path, body) in requests)
        {
            var response = await beta.SendAsync(Request(method, path, body));
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{method} {path} answered {(int)response.StatusCode}");
        }

        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM customers WHERE name = 'Acme Logistics'", Alpha));
        Assert.Equal(2L, await ScalarAsync<long>("SELECT count(*) FROM projects", Alpha));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM project_warehouses", Alpha));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM customers", Beta));
    }

    [Fact]
    public async Task A_viewer_reads_but_cannot_write()
    {
        var owner = await OwnerAsync();
        var customer = await CreateCustomerAsync(owner);
        var id = customer.GetProperty("id").GetGuid();
        var viewer = await Fixture.ClientAsAsync(Alpha, Roles.Viewer);

        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/customers")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync($"/customers/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync($"/customers/{id}/projects")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync("/customers", CustomerBuilder.Customer())).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PatchAsJsonAsync($"/customers/{id}", new { name = "x" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync($"/customers/{id}/projects", CustomerBuilder.Project())).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync($"/customers/{id}/warehouses", CustomerBuilder.Warehouse())).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.DeleteAsync($"/customers/{id}")).StatusCode);
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM customers"));
    }

    [Fact]
    public async Task A_member_creates_and_updates_but_cannot_delete_and_an_admin_can()
    {
        var member = await Fixture.ClientAsAsync(Alpha, Roles.Member);
        var customer = await CreateCustomerAsync(member, CustomerBuilder.Customer().With("projects", new object[] { CustomerBuilder.Project("A"), CustomerBuilder.Project("B") }));
        var id = customer.GetProperty("id").GetGuid();
        var project = customer.GetProperty("projects")[0].GetProperty("id").GetGuid();
        var warehouse = (await CreateAsync(member, $"/customers/{id}/warehouses", CustomerBuilder.Warehouse())).GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.OK, (await member.PatchAsJsonAsync($"/customers/{id}", new { name = "By member" })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await member.PutAsync($"/projects/{project}/warehouses/{warehouse}", null)).StatusCode);

        Assert.Equal(HttpStatusCode.Forbidden, (await member.DeleteAsync($"/projects/{project}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.DeleteAsync($"/warehouses/{warehouse}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.DeleteAsync($"/customers/{id}")).StatusCode);
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM customers"));

        var admin = await Fixture.ClientAsAsync(Alpha, Roles.Admin);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/projects/{project}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/warehouses/{warehouse}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/customers/{id}")).StatusCode);
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM customers"));
    }

    [Fact]
    public async Task Without_a_token_the_customers_api_is_401()
    {
        var anonymous = Fixture.Factory.TenantClient(Alpha);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/customers")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/customers", CustomerBuilder.Customer())).StatusCode);
    }
}
