using Microsoft.Kiota.Abstractions;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Abstractions.Serialization;
using Microsoft.Kiota.Http.HttpClientLibrary;
using Microsoft.Kiota.Http.HttpClientLibrary.Middleware.Options;
using Monolith.Client;
using Monolith.Client.Models;
using Monolith.Tests.Support;

namespace Monolith.Tests.Host;

/// <summary>
/// The main journeys through the client Kiota generates from docs/openapi/v1.json (tests/Monolith.Client), unchanged,
/// against the real host: what a REST client generated from our document meets, success and error paths alike.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed class GeneratedClientJourneyTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    private const string Password = "journey-password-0123456789";

    [Fact]
    public async Task An_operator_provisions_a_tenant_whose_owner_signs_in_and_manages_customers_projects_and_warehouses()
    {
        var identifier = MonolithFixture.UniqueIdentifier("journey");
        var platform = Client(("X-Platform-Key", MonolithFactory.PlatformKey));
        var created = await platform.Platform.Tenants.PostAsync(new CreateTenantRequest
        {
            Identifier = identifier, Name = "Journey Ltd", OwnerEmail = $"owner@{identifier}.test", OwnerPassword = Password,
        });
        Assert.Equal(identifier, created!.Identifier);
        Assert.Equal("active", created.Status);
        Assert.Equal("Journey Ltd", (await platform.Platform.Tenants[identifier].GetAsync())!.Name);

        var owner = await SignInAsync(identifier, $"owner@{identifier}.test", Password);
        var me = await owner.Me.GetAsync();
        Assert.Equal("owner", me!.Role);

        var customer = await owner.Customers.PostAsync(new CreateCustomerRequest
        {
            Name = "Acme", Email = "ops@acme.example", Phone = "+4930123456",
            Projects = [new CreateProjectRequest { Name = "Rollout", Code = "ROLL" }],
        });
        Assert.Equal("Acme", customer!.Name);
        var rollout = Assert.Single(customer.Projects!);

        var second = await owner.Customers[customer.Id!.Value].Projects.PostAsync(new CreateProjectRequest { Name = "Support" });
        var warehouse = await owner.Customers[customer.Id!.Value].Warehouses.PostAsync(new CreateWarehouseRequest
        {
            Name = "Berlin North", Address = "Lagerstraße 1", Country = "DE", Capacity = 1200,
        });
        await owner.Projects[rollout.Id!.Value].Warehouses[warehouse!.Id!.Value].PutAsync();
        var assigned = await owner.Projects[rollout.Id!.Value].Warehouses.GetAsync();
        Assert.Equal(warehouse.Id, Assert.Single(assigned!.Items!).Id);

        var projects = await owner.Customers[customer.Id!.Value].Projects.GetAsync();
        Assert.Equal(["Rollout", "Support"], projects!.Items!.Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(second!.Id, (await owner.Projects[second.Id!.Value].GetAsync())!.Id);

        await owner.Customers.PostAsync(new CreateCustomerRequest
        {
            Name = "Beta", Email = "ops@beta.example", Projects = [new CreateProjectRequest { Name = "Main" }],
        });
        var first = await owner.Customers.GetAsync(config =>
        {
            config.QueryParameters.Sort = "name";
            config.QueryParameters.Limit = 1;
        });
        Assert.Equal("Acme", Assert.Single(first!.Items!).Name);
        var next = await owner.Customers.GetAsync(config =>
        {
            config.QueryParameters.Sort = "name";
            config.QueryParameters.Limit = 1;
            config.QueryParameters.Cursor = first.NextCursor;
        });
        Assert.Equal("Beta", Assert.Single(next!.Items!).Name);
        var found = await owner.Customers.GetAsync(config => config.QueryParameters.Q = "acme");
        Assert.Equal("Acme", Assert.Single(found!.Items!).Name);

        await owner.Projects[rollout.Id!.Value].Warehouses[warehouse.Id!.Value].DeleteAsync();
        await owner.Warehouses[warehouse.Id!.Value].DeleteAsync();
        await owner.Customers[customer.Id!.Value].DeleteAsync();
        var gone = await Assert.ThrowsAsync<ProblemDetails>(() => owner.Customers[customer.Id!.Value].GetAsync());
        Assert.Equal(404, gone.Status);
    }

    [Fact]
    public async Task Toggles_are_defined_overridden_and_evaluated_and_every_change_is_in_the_audit_trail()
    {
        var owner = await SignInAsync(MonolithFixture.Alpha, MonolithFixture.OwnerEmail(MonolithFixture.Alpha), MonolithFixture.OwnerPassword);
        var customer = await owner.Customers.PostAsync(new CreateCustomerRequest
        {
            Name = "Toggle Co", Email = "toggles@co.example", Projects = [new CreateProjectRequest { Name = "Main" }],
        });
        var project = customer!.Projects![0].Id!.Value;

        await owner.Features["new-checkout"].PutAsync(new DefinitionRequest { Description = "The new checkout", Enabled = true });
        var byDefault = await owner.Projects[project].Features["new-checkout"].GetAsync();
        Assert.True(byDefault!.Enabled);
        Assert.Equal(ToggleReason.Default, byDefault.Reason);

        await owner.Projects[project].Features["new-checkout"].PutAsync(new OverrideRequest { Enabled = false });
        var overridden = await owner.Projects[project].Features["new-checkout"].GetAsync();
        Assert.False(overridden!.Enabled);
        Assert.Equal(ToggleReason.Override, overridden.Reason);

        var undefined = await owner.Projects[project].Features["never-defined"].GetAsync();
        Assert.Equal(ToggleReason.Undefined, undefined!.Reason);
        Assert.Contains((await owner.Features.GetAsync())!.Items!, d => d.Key == "new-checkout");

        var trail = await owner.AuditEvents.GetAsync();
        Assert.Contains(trail!.Items!, e => e.EntityType == "customer" && e.Action == "create");
        Assert.Contains(trail.Items!, e => e.Action == "create" && e.EntityId == customer.Id.ToString());
        var verified = await owner.AuditEvents.Verify.GetAsync();
        Assert.True(verified!.Valid);
    }

    [Fact]
    public async Task Refusals_arrive_as_the_problem_types_the_document_declares()
    {
        var owner = await SignInAsync(MonolithFixture.Alpha, MonolithFixture.OwnerEmail(MonolithFixture.Alpha), MonolithFixture.OwnerPassword);

        // 400: a customer needs a project and a valid e-mail address.
        var invalid = await Assert.ThrowsAsync<HttpValidationProblemDetails>(() =>
            owner.Customers.PostAsync(new CreateCustomerRequest { Name = "Nobody", Email = "not-an-address", Projects = [] }));
        Assert.Equal(400, invalid.Status);
        Assert.Equal("/problems/validation", invalid.Type);
        Assert.Contains("email", invalid.Errors!.AdditionalData.Keys);

        // 404: an id that never existed.
        var missing = await Assert.ThrowsAsync<ProblemDetails>(() => owner.Customers[Guid.NewGuid()].GetAsync());
        Assert.Equal("/problems/not-found", missing.Type);
        Assert.False(string.IsNullOrEmpty(missing.TraceId));
        Assert.False(string.IsNullOrEmpty(missing.RequestId));

        // 409: the e-mail address is taken; the customer's last project stays.
        var first = await owner.Customers.PostAsync(new CreateCustomerRequest
        {
            Name = "First", Email = "same@co.example", Projects = [new CreateProjectRequest { Name = "Only" }],
        });
        var taken = await Assert.ThrowsAsync<ProblemDetails>(() => owner.Customers.PostAsync(new CreateCustomerRequest
        {
            Name = "Second", Email = "SAME@co.example", Projects = [new CreateProjectRequest { Name = "Other" }],
        }));
        Assert.Equal(409, taken.Status);
        Assert.Equal("/problems/customer-email-taken", taken.Type);
        var last = await Assert.ThrowsAsync<ProblemDetails>(() => owner.Projects[first!.Projects![0].Id!.Value].DeleteAsync());
        Assert.Equal("/problems/last-project", last.Type);

        // 412: a change meant for another version (If-Match), then the same change with the current ETag.
        var headers = new HeadersInspectionHandlerOption { InspectResponseHeaders = true };
        await owner.Customers[first!.Id!.Value].GetAsync(config => config.Options.Add(headers));
        var etag = headers.ResponseHeaders["ETag"].Single();
        var stale = await Assert.ThrowsAsync<ProblemDetails>(() => owner.Customers[first.Id!.Value].PatchAsync(
            new PatchCustomerRequest { Name = new UntypedString("Renamed") }, config => config.Headers.Add("If-Match", "\"stale\"")));
        Assert.Equal(412, stale.Status);
        Assert.Equal("/problems/precondition-failed", stale.Type);
        var renamed = await owner.Customers[first.Id!.Value].PatchAsync(
            new PatchCustomerRequest { Name = new UntypedString("Renamed") }, config => config.Headers.Add("If-Match", etag));
        Assert.Equal("Renamed", renamed!.Name);

        // 401: a wrong password, anonymously; 403: a viewer may not create.
        var anonymous = Client(("X-Tenant", MonolithFixture.Alpha));
        var wrong = await Assert.ThrowsAsync<ProblemDetails>(() => anonymous.Auth.Token.PostAsync(
            new TokenRequest { Email = MonolithFixture.OwnerEmail(MonolithFixture.Alpha), Password = "wrong-password" }));
        Assert.Equal("/problems/invalid-credentials", wrong.Type);
        var viewer = await Fixture.CreateUserAsync(MonolithFixture.Alpha, "viewer");
        var readOnly = await SignInAsync(MonolithFixture.Alpha, viewer.Email, viewer.Password);
        var denied = await Assert.ThrowsAsync<ProblemDetails>(() => readOnly.Customers.PostAsync(new CreateCustomerRequest
        {
            Name = "Nope", Email = "nope@co.example", Projects = [new CreateProjectRequest { Name = "X" }],
        }));
        Assert.Equal(403, denied.Status);

        // 409 of the platform API: the identifier is taken.
        var platform = Client(("X-Platform-Key", MonolithFactory.PlatformKey));
        var exists = await Assert.ThrowsAsync<ProblemDetails>(() => platform.Platform.Tenants.PostAsync(new CreateTenantRequest
        {
            Identifier = MonolithFixture.Alpha, Name = "Again", OwnerEmail = "x@alpha.test",
        }));
        Assert.Equal("/problems/tenant-exists", exists.Type);
    }

    private async Task<MonolithClient> SignInAsync(string tenant, string email, string password)
    {
        var tokens = await Client(("X-Tenant", tenant)).Auth.Token.PostAsync(new TokenRequest { Email = email, Password = password });
        Assert.Equal("Bearer", tokens!.TokenType);
        return Client(("X-Tenant", tenant), ("Authorization", $"Bearer {tokens.AccessToken}"));
    }

    /// <summary>The generated client over the test host, with Kiota's own handlers (the response-headers inspection among them).</summary>
    private MonolithClient Client(params (string Name, string Value)[] headers)
    {
        var http = Fixture.Factory.CreateDefaultClient(KiotaClientFactory.CreateDefaultHandlers().ToArray());
        foreach (var (name, value) in headers)
        {
            http.DefaultRequestHeaders.TryAddWithoutValidation(name, value);
        }

        var adapter = new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: http)
        {
            BaseUrl = http.BaseAddress!.ToString().TrimEnd('/'),
        };
        return new MonolithClient(adapter);
    }
}
