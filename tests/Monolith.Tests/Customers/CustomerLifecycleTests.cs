using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tests.Support;

namespace Monolith.Tests.Customers;

[Trait("Category", Categories.Integration)]
public sealed class CustomerLifecycleTests(MonolithFixture fixture) : CustomersTest(fixture)
{
    [Fact]
    public async Task Put_replaces_the_editable_fields_and_changes_the_etag()
    {
        var client = await OwnerAsync();
        var created = await client.PostAsJsonAsync("/customers", CustomerBuilder.Customer());
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var response = await client.SendAsync(Request(HttpMethod.Put, $"/customers/{id}",
            new { name = "Renamed", email = "new@acme.example", status = "inactive" }, ifMatch: created.Headers.ETag!.Tag));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEqual(created.Headers.ETag, response.Headers.ETag);
        var customer = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Renamed", customer.GetProperty("name").GetString());
        Assert.Equal("inactive", customer.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, customer.GetProperty("legalName").ValueKind);
        Assert.Equal(JsonValueKind.Null, customer.GetProperty("phone").ValueKind);
    }

    [Fact]
    public async Task Patch_changes_only_the_fields_sent_and_null_clears_an_optional_one()
    {
        var client = await OwnerAsync();
        var id = (await CreateCustomerAsync(client)).GetProperty("id").GetGuid();

        var response = await client.PatchAsJsonAsync($"/customers/{id}", new { phone = (string?)null, status = "inactive" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var customer = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Acme Logistics", customer.GetProperty("name").GetString());
        Assert.Equal("Acme Logistics GmbH", customer.GetProperty("legalName").GetString());
        Assert.Equal(JsonValueKind.Null, customer.GetProperty("phone").ValueKind);
        Assert.Equal("inactive", customer.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Patch_validates_what_it_is_sent()
    {
        var client = await OwnerAsync();
        var id = (await CreateCustomerAsync(client)).GetProperty("id").GetGuid();

        var problem = await ProblemAsync(
            await client.PatchAsJsonAsync($"/customers/{id}", new { name = (string?)null, email = 42, status = "archived", phone = "123" }),
            HttpStatusCode.BadRequest);

        Assert.Equal(["email", "name", "phone", "status"], ErrorFields(problem).Order(StringComparer.Ordinal));
        await ProblemAsync(await client.PatchAsJsonAsync($"/customers/{id}", new { projects = Array.Empty<object>() }), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Changing_the_email_to_anothers_in_another_case_is_409()
    {
        var client = await OwnerAsync();
        await CreateCustomerAsync(client, CustomerBuilder.Customer(email: "first@acme.example"));
        var id = (await CreateCustomerAsync(client)).GetProperty("id").GetGuid();

        var problem = await ProblemAsync(await client.PatchAsJsonAsync($"/customers/{id}", new { email = "FIRST@acme.example" }), HttpStatusCode.Conflict);
        Assert.Equal("/problems/customer-email-taken", problem.GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_stale_if_match_is_412_for_put_patch_and_delete_and_changes_nothing()
    {
        var client = await OwnerAsync();
        var created = await client.PostAsJsonAsync("/customers", CustomerBuilder.Customer());
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var stale = created.Headers.ETag!.Tag;
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Request(HttpMethod.Patch, $"/customers/{id}", new { name = "First edit" }, ifMatch: stale))).StatusCode);

        foreach (var request in new[]
                 {
                     Request(HttpMethod.Put, $"/customers/{id}", new { name = "Lost update", email = "lost@acme.example" }, ifMatch: stale),
                     Request(HttpMethod.Patch, $"/customers/{id}", new { name = "Lost update" }, ifMatch: stale),
                     Request(HttpMethod.Delete, $"/customers/{id}", ifMatch: stale),
                     Request(HttpMethod.Patch, $"/customers/{id}", new { name = "Weak tag" }, ifMatch: "W/" + stale),
                 })
        {
            var problem = await ProblemAsync(await client.SendAsync(request), HttpStatusCode.PreconditionFailed);
            Assert.Equal("/problems/precondition-failed", problem.GetProperty("type").GetString());
        }

        var current = await client.GetAsync($"/customers/{id}");
        Assert.Equal("First edit", (await current.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Request(HttpMethod.Patch, $"/customers/{id}", new { name = "Star" }, ifMatch: "*"))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent,
            (await client.SendAsync(Request(HttpMethod.Delete, $"/customers/{id}", ifMatch: $"\"0\", {(await client.GetAsync($"/customers/{id}")).Headers.ETag!.Tag}"))).StatusCode);
    }

    [Fact]
    public async Task Deleting_a_customer_removes_its_projects_warehouses_and_assignments_leaving_no_orphan_row()
    {
        var client = await OwnerAsync();
        var keep = await CreateCustomerAsync(client);
        var keepProject = keep.GetProperty("projects")[0].GetProperty("id").GetGuid();
        var keepWarehouse = (await CreateAsync(client, $"/customers/{keep.GetProperty("id")}/warehouses", CustomerBuilder.Warehouse())).GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.NoContent, (await client.PutAsync($"/projects/{keepProject}/warehouses/{keepWarehouse}", null)).StatusCode);

        var doomed = await CreateCustomerAsync(client, CustomerBuilder.Customer().With("projects", new object[] { CustomerBuilder.Project("A"), CustomerBuilder.Project("B") }));
        var id = doomed.GetProperty("id").GetGuid();
        var warehouse = (await CreateAsync(client, $"/customers/{id}/warehouses", CustomerBuilder.Warehouse())).GetProperty("id").GetGuid();
        foreach (var project in doomed.GetProperty("projects").EnumerateArray())
        {
            Assert.Equal(HttpStatusCode.NoContent, (await client.PutAsync($"/projects/{project.GetProperty("id")}/warehouses/{warehouse}", null)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/customers/{id}")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/customers/{id}")).StatusCode);
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM customers WHERE id = $1", Alpha, id));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM projects WHERE customer_id = $1", Alpha, id));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM warehouses WHERE customer_id = $1", Alpha, id));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM project_warehouses WHERE customer_id = $1", Alpha, id));
        Assert.Equal(0L, await ScalarAsync<long>(
            """
            SELECT (SELECT count(*) FROM projects p WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = p.customer_id))
                 + (SELECT count(*) FROM warehouses w WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = w.customer_id))
                 + (SELECT count(*) FROM project_warehouses pw WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = pw.project_id)
                                                                  OR NOT EXISTS (SELECT 1 FROM warehouses w WHERE w.id = pw.warehouse_id))
            """));
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM project_warehouses"));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/projects/{keepProject}")).StatusCode);
    }

    [Fact]
    public async Task Deleting_the_last_project_of_a_customer_is_409_and_another_can_go()
    {
        var client = await OwnerAsync();
        var customer = await CreateCustomerAsync(client, CustomerBuilder.Customer().With("projects", new object[] { CustomerBuilder.Project("A"), CustomerBuilder.Project("B") }));
        var projects = customer.GetProperty("projects").EnumerateArray().Select(p => p.GetProperty("id").GetGuid()).ToArray();

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/projects/{projects[0]}")).StatusCode);
        var problem = await ProblemAsync(await client.DeleteAsync($"/projects/{projects[1]}"), HttpStatusCode.Conflict);

        Assert.Equal("/problems/last-project", problem.GetProperty("type").GetString());
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM projects WHERE customer_id = $1", Alpha, customer.GetProperty("id").GetGuid()));
    }

    [Fact]
    public async Task Concurrent_deletes_of_a_customers_last_two_projects_leave_one()
    {
        var client = await OwnerAsync();
        var customer = await CreateCustomerAsync(client, CustomerBuilder.Customer().With("projects", new object[] { CustomerBuilder.Project("A"), CustomerBuilder.Project("B") }));
        var projects = customer.GetProperty("projects").EnumerateArray().Select(p => p.GetProperty("id").GetGuid()).ToArray();

        var statuses = await Task.WhenAll(projects.Select(p => client.DeleteAsync($"/projects/{p}")));

        Assert.Equal([HttpStatusCode.NoContent, HttpStatusCode.Conflict], statuses.Select(s => s.StatusCode).Order());
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM projects"));
    }

    [Fact]
    public async Task The_database_refuses_a_customer_without_a_project_whatever_the_path()
    {
        await using var connection = await SuperuserAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "INSERT INTO customers (id, name, email) VALUES (monolith.uuid_v7(), 'Bypass', 'bypass@acme.example')", connection);
        var error = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => command.ExecuteNonQueryAsync());
        Assert.Equal("customer_keeps_a_project", error.ConstraintName);
    }

    [Fact]
    public async Task Every_write_is_in_the_audit_trail_with_its_entity_type_and_actor()
    {
        var client = await OwnerAsync();
        var customer = await CreateCustomerAsync(client);
        var id = customer.GetProperty("id").GetGuid();
        var project = customer.GetProperty("projects")[0].GetProperty("id").GetGuid();
        var second = (await CreateAsync(client, $"/customers/{id}/projects", CustomerBuilder.Project("Second"))).GetProperty("id").GetGuid();
        var warehouse = (await CreateAsync(client, $"/customers/{id}/warehouses", CustomerBuilder.Warehouse())).GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.OK, (await client.PatchAsJsonAsync($"/customers/{id}", new { name = "Audited" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PatchAsJsonAsync($"/projects/{project}", new { status = "archived" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PatchAsJsonAsync($"/warehouses/{warehouse}", new { capacity = 0 })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PutAsync($"/projects/{project}/warehouses/{warehouse}", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/projects/{second}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/customers/{id}")).StatusCode);

        await using var connection = await SuperuserAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            """
            SELECT entity_type || ':' || action || ':' || entity_id, actor_kind, actor_id IS NOT NULL, request_id IS NOT NULL, actor_email FROM audit_events
            WHERE entity_type IN ('customer', 'project', 'warehouse', 'project_warehouse') ORDER BY seq
            """, connection);
        var events = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                events.Add(reader.GetString(0));
                Assert.Equal("user", reader.GetString(1));
                Assert.True(reader.GetBoolean(2));
                Assert.True(reader.GetBoolean(3));
                Assert.Equal(MonolithFixture.OwnerEmail(Alpha), reader.GetString(4));
            }
        }

        foreach (var expected in new[]
                 {
                     $"customer:create:{id}", $"project:create:{project}", $"project:create:{second}", $"warehouse:create:{warehouse}",
                     $"customer:update:{id}", $"project:update:{project}", $"warehouse:update:{warehouse}", $"project_warehouse:create:{project}",
                     $"project:delete:{second}", $"customer:delete:{id}", $"project:delete:{project}", $"warehouse:delete:{warehouse}",
                     $"project_warehouse:delete:{project}",
                 })
        {
            Assert.Contains(expected, events);
        }
    }
}
