using System.Data.Common;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Customers.Contracts;
using Monolith.SharedKernel.Events;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Customers;

[Trait("Category", Categories.Integration)]
public sealed class ProjectsAndWarehousesTests(MonolithFixture fixture) : CustomersTest(fixture)
{
    [Fact]
    public async Task A_project_is_created_read_listed_and_patched()
    {
        var client = await OwnerAsync();
        var customer = (await CreateCustomerAsync(client)).GetProperty("id").GetGuid();

        var response = await client.PostAsJsonAsync($"/customers/{customer}/projects", CustomerBuilder.Project("Phase 2", "P2"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var project = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = project.GetProperty("id").GetGuid();
        Assert.Equal($"/projects/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("active", project.GetProperty("status").GetString());

        var list = await client.GetFromJsonAsync<JsonElement>($"/customers/{customer}/projects");
        Assert.Equal(["Rollout", "Phase 2"], list.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("name").GetString()));

        var patched = await client.SendAsync(Request(HttpMethod.Patch, $"/projects/{id}", new { code = (string?)null, status = "archived" }, ifMatch: response.Headers.ETag!.Tag));
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var body = await patched.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(JsonValueKind.Null, body.GetProperty("code").ValueKind);
        Assert.Equal("archived", body.GetProperty("status").GetString());
        await ProblemAsync(await client.SendAsync(Request(HttpMethod.Patch, $"/projects/{id}", new { name = "x" }, ifMatch: response.Headers.ETag!.Tag)), HttpStatusCode.PreconditionFailed);
    }

    [Fact]
    public async Task A_project_code_is_unique_within_its_customer_ignoring_case_but_not_across_customers()
    {
        var client = await OwnerAsync();
        var first = (await CreateCustomerAsync(client)).GetProperty("id").GetGuid();
        var second = (await CreateCustomerAsync(client, CustomerBuilder.Customer().With("projects", new object[] { CustomerBuilder.Project("No code") }))).GetProperty("id").GetGuid();

        var problem = await ProblemAsync(await client.PostAsJsonAsync($"/customers/{first}/projects", CustomerBuilder.Project("Again", "roll")), HttpStatusCode.Conflict);
        Assert.Equal("/problems/project-code-taken", problem.GetProperty("type").GetString());
        await CreateAsync(client, $"/customers/{second}/projects", CustomerBuilder.Project("Again", "roll"));
        var other = (await CreateAsync(client, $"/customers/{first}/projects", CustomerBuilder.Project("Other", "OTHER"))).GetProperty("id").GetGuid();
        await ProblemAsync(await client.PatchAsJsonAsync($"/projects/{other}", new { code = "Roll" }), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Project_rules_are_400_naming_the_field_and_an_unknown_customer_is_404()
    {
        var client = await OwnerAsync();
        var customer = (await CreateCustomerAsync(client)).GetProperty("id").GetGuid();

        Assert.Equal(["name"], ErrorFields(await ProblemAsync(await client.PostAsJsonAsync($"/customers/{customer}/projects", new { code = "X" }), HttpStatusCode.BadRequest)));
        Assert.Equal(["code"], ErrorFields(await ProblemAsync(await client.PostAsJsonAsync($"/customers/{customer}/projects", CustomerBuilder.Project("N", new string('c', 51))), HttpStatusCode.BadRequest)));
        var id = (await CreateAsync(client, $"/customers/{customer}/projects", CustomerBuilder.Project("N"))).GetProperty("id").GetGuid();
        Assert.Equal(["status"], ErrorFields(await ProblemAsync(await client.PatchAsJsonAsync($"/projects/{id}", new { status = "done" }), HttpStatusCode.BadRequest)));
        await ProblemAsync(await client.PatchAsJsonAsync($"/projects/{id}", new { customerId = Guid.CreateVersion7() }), HttpStatusCode.BadRequest);
        await ProblemAsync(await client.PostAsJsonAsync($"/customers/{Guid.CreateVersion7()}/projects", CustomerBuilder.Project()), HttpStatusCode.NotFound);
        await ProblemAsync(await client.GetAsync($"/customers/{Guid.CreateVersion7()}/projects"), HttpStatusCode.NotFound);
        await ProblemAsync(await client.GetAsync($"/projects/{Guid.CreateVersion7()}"), HttpStatusCode.NotFound);
        await ProblemAsync(await client.DeleteAsync($"/projects/{Guid.CreateVersion7()}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_warehouse_is_created_read_listed_patched_and_deleted()
    {
        var client = await OwnerAsync();
        var customer = (await CreateCustomerAsync(client)).GetProperty("id").GetGuid();

        var response = await client.PostAsJsonAsync($"/customers/{customer}/warehouses", CustomerBuilder.Warehouse().With("country", "fr"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var warehouse = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = warehouse.GetProperty("id").GetGuid();
        Assert.Equal($"/warehouses/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("FR", warehouse.GetProperty("country").GetString());
        Assert.Equal("Lagerstraße 1\n13407 Berlin", warehouse.GetProperty("address").GetString());
        Assert.Equal(1200, warehouse.GetProperty("capacity").GetInt32());

        var list = await client.GetFromJsonAsync<JsonElement>($"/customers/{customer}/warehouses");
        Assert.Equal(id, list.GetProperty("items")[0].GetProperty("id").GetGuid());

        var patched = await client.PatchAsJsonAsync($"/warehouses/{id}", new { capacity = 0, country = "DE" });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        Assert.Equal(0, (await patched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("capacity").GetInt32());

        Assert.Equal(HttpStatusCode.NoContent, (await client.SendAsync(Request(HttpMethod.Delete, $"/warehouses/{id}", ifMatch: patched.Headers.ETag!.Tag))).StatusCode);
        await ProblemAsync(await client.GetAsync($"/warehouses/{id}"), HttpStatusCode.NotFound);
    }

    public static TheoryData<string, object?> InvalidWarehouseFields() => new()
    {
        { "name", null },
        { "name", "" },
        { "address", null },
        { "address", new string('a', 501) },
        { "country", null },
        { "country", "XX" },
        { "country", "DEU" },
        { "country", "D" },
        { "capacity", null },
        { "capacity", -1 },
    };

    [Theory]
    [MemberData(nameof(InvalidWarehouseFields))]
    public async Task Each_invalid_warehouse_field_is_400_naming_it(string field, object? value)
    {
        var client = await OwnerAsync();
        var customer = (await CreateCustomerAsync(client)).GetProperty("id").GetGuid();

        var problem = await ProblemAsync(await client.PostAsJsonAsync($"/customers/{customer}/warehouses", CustomerBuilder.Warehouse().With(field, value)), HttpStatusCode.BadRequest);

        Assert.Equal([field], ErrorFields(problem));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM warehouses"));
    }

    [Fact]
    public async Task A_fractional_capacity_is_400()
    {
        var client = await OwnerAsync();
        var customer = (await CreateCustomerAsync(client)).GetProperty("id").GetGuid();
        await ProblemAsync(await client.PostAsJsonAsync($"/customers/{customer}/warehouses", CustomerBuilder.Warehouse().With("capacity", 1.5)), HttpStatusCode.BadRequest);
        var id = (await CreateAsync(client, $"/customers/{customer}/warehouses", CustomerBuilder.Warehouse())).GetProperty("id").GetGuid();
        Assert.Equal(["capacity"], ErrorFields(await ProblemAsync(await client.PatchAsJsonAsync($"/warehouses/{id}", new { capacity = 1.5 }), HttpStatusCode.BadRequest)));
    }

    [Fact]
    public async Task Warehouses_are_assigned_to_projects_of_the_same_customer_only()
    {
        var client = await OwnerAsync();
        var customer = await CreateCustomerAsync(client);
        var project = customer.GetProperty("projects")[0].GetProperty("id").GetGuid();
        var own = (await CreateAsync(client, $"/customers/{customer.GetProperty("id")}/warehouses", CustomerBuilder.Warehouse("Own"))).GetProperty("id").GetGuid();
        var otherCustomer = (await CreateCustomerAsync(client)).GetProperty("id").GetGuid();
        var foreign = (await CreateAsync(client, $"/customers/{otherCustomer}/warehouses", CustomerBuilder.Warehouse("Foreign"))).GetProperty("id").GetGuid();

        Assert.Equal(HttpStatusCode.NoContent, (await client.PutAsync($"/projects/{project}/warehouses/{own}", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PutAsync($"/projects/{project}/warehouses/{own}", null)).StatusCode);
        var problem = await ProblemAsync(await client.PutAsync($"/projects/{project}/warehouses/{foreign}", null), HttpStatusCode.Conflict);
        Assert.Equal("/problems/warehouse-of-another-customer", problem.GetProperty("type").GetString());
        await ProblemAsync(await client.PutAsync($"/projects/{project}/warehouses/{Guid.CreateVersion7()}", null), HttpStatusCode.NotFound);

        var assigned = await client.GetFromJsonAsync<JsonElement>($"/projects/{project}/warehouses");
        Assert.Equal([own], assigned.GetProperty("items").EnumerateArray().Select(w => w.GetProperty("id").GetGuid()));

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/projects/{project}/warehouses/{own}")).StatusCode);
        await ProblemAsync(await client.DeleteAsync($"/projects/{project}/warehouses/{own}"), HttpStatusCode.NotFound);
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>($"/projects/{project}/warehouses")).GetProperty("items").EnumerateArray());
        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM warehouses WHERE id = $1", Alpha, own));
    }

    [Fact]
    public async Task The_database_refuses_an_assignment_across_customers_whatever_the_path()
    {
        var client = await OwnerAsync();
        var customer = await CreateCustomerAsync(client);
        var project = customer.GetProperty("projects")[0].GetProperty("id").GetGuid();
        var otherCustomer = (await CreateCustomerAsync(client)).GetProperty("id").GetGuid();
        var foreign = (await CreateAsync(client, $"/customers/{otherCustomer}/warehouses", CustomerBuilder.Warehouse())).GetProperty("id").GetGuid();

        await using var connection = await SuperuserAsync();
        await using var command = new NpgsqlCommand("INSERT INTO project_warehouses (project_id, warehouse_id, customer_id) VALUES ($1, $2, $3)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = project });
        command.Parameters.Add(new NpgsqlParameter { Value = foreign });
        command.Parameters.Add(new NpgsqlParameter { Value = customer.GetProperty("id").GetGuid() });
        var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
        Assert.Equal(PostgresErrorCodes.ForeignKeyViolation, error.SqlState);
    }

    [Fact]
    public async Task Deletes_publish_projects_deleted_inside_their_transaction()
    {
        var recorder = new RecordingHandler();
        await using var factory = new MonolithFactory(Fixture.Connections,
            services: s => s.AddSingleton<IInProcessEventSubscriber<ProjectsDeleted>>(recorder));
        var client = factory.TenantClient(Alpha);
        await client.AuthorizeAsOwnerAsync(Fixture, Alpha);

        var customer = await CreateCustomerAsync(client, CustomerBuilder.Customer().With("projects", new object[] { CustomerBuilder.Project("A"), CustomerBuilder.Project("B"), CustomerBuilder.Project("C") }));
        var projects = customer.GetProperty("projects").EnumerateArray().Select(p => p.GetProperty("id").GetGuid()).ToArray();

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/projects/{projects[0]}")).StatusCode);
        Assert.Equal([projects[0]], recorder.Published.Single());

        // A handler that fails rolls the whole delete back: it ran in the deleting transaction.
        recorder.Fail = true;
        Assert.Equal(HttpStatusCode.InternalServerError, (await client.DeleteAsync($"/customers/{customer.GetProperty("id")}")).StatusCode);
        Assert.Equal(2L, await ScalarAsync<long>("SELECT count(*) FROM projects"));

        recorder.Fail = false;
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/customers/{customer.GetProperty("id")}")).StatusCode);
        Assert.Equal(projects[1..].Order(), recorder.Published[^1].Order());
        Assert.All(recorder.SeenInTransaction, seen => Assert.True(seen));
    }

    private sealed class RecordingHandler : IInProcessEventSubscriber<ProjectsDeleted>
    {
        public List<IReadOnlyList<Guid>> Published { get; } = [];

        public List<bool> SeenInTransaction { get; } = [];

        public bool Fail { get; set; }

        public async Task HandleAsync(ProjectsDeleted message, DbTransaction transaction, CancellationToken ct)
        {
            // The projects are still there, seen through the publisher's own tenant-bound transaction.
            await using var command = transaction.Connection!.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "SELECT count(*) FROM projects WHERE id = ANY($1)";
            command.Parameters.Add(new NpgsqlParameter { Value = message.ProjectIds.ToArray() });
            SeenInTransaction.Add((long)(await command.ExecuteScalarAsync(ct))! == message.ProjectIds.Count);
            if (Fail)
            {
                throw new InvalidOperationException("handler failure (test)");
            }

            Published.Add(message.ProjectIds);
        }
    }
}
