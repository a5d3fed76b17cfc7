using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monolith.Tenancy;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Customers;

/// <summary>Test data for the Customers module: request bodies as dictionaries, so a test can drop or break any field.</summary>
internal static class CustomerBuilder
{
    public static Dictionary<string, object?> Customer(string? email = null, string name = "Acme Logistics") => new()
    {
        ["name"] = name,
        ["legalName"] = "Acme Logistics GmbH",
        ["email"] = email ?? $"contact-{Guid.NewGuid():N}@acme.example",
        ["phone"] = "+4930123456",
        ["projects"] = new object[] { Project("Rollout", "ROLL") },
    };

    public static Dictionary<string, object?> Project(string name = "Rollout", string? code = null) => new()
    {
        ["name"] = name,
        ["code"] = code,
    };

    public static Dictionary<string, object?> Warehouse(string name = "Berlin North") => new()
    {
        ["name"] = name,
        ["address"] = "Lagerstraße 1\n13407 Berlin",
        ["country"] = "DE",
        ["capacity"] = 1200,
    };

    public static Dictionary<string, object?> With(this Dictionary<string, object?> body, string field, object? value)
    {
        body[field] = value;
        return body;
    }

    public static Dictionary<string, object?> Without(this Dictionary<string, object?> body, string field)
    {
        body.Remove(field);
        return body;
    }
}

/// <summary>Base for the module's integration tests: authenticated clients and direct looks at the tables.</summary>
public abstract class CustomersTest(MonolithFixture fixture) : IntegrationTest(fixture)
{
    protected const string Alpha = MonolithFixture.Alpha;
    protected const string Beta = MonolithFixture.Beta;

    protected async Task<HttpClient> OwnerAsync(string tenant = Alpha)
    {
        var client = Fixture.Factory.TenantClient(tenant);
        await client.AuthorizeAsOwnerAsync(Fixture, tenant);
        return client;
    }

    protected static async Task<JsonElement> CreateCustomerAsync(HttpClient client, Dictionary<string, object?>? body = null)
    {
        var response = await client.PostAsJsonAsync("/customers", body ?? CustomerBuilder.Customer());
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    protected static async Task<JsonElement> CreateAsync(HttpClient client, string path, object body)
    {
        var response = await client.PostAsJsonAsync(path, body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    protected static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    protected static string[] ErrorFields(JsonElement problem) =>
        problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).ToArray();

    /// <summary>Runs a scalar query on the tenant's schema over the superuser connection (outside the API).</summary>
    protected async Task<T> ScalarAsync<T>(string sql, string tenant = Alpha, params object[] args)
    {
        await using var connection = await SuperuserAsync(tenant);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var arg in args)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = arg });
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>A superuser connection with the tenant's schema as search_path (so the schema's triggers resolve).</summary>
    protected async Task<NpgsqlConnection> SuperuserAsync(string tenant = Alpha)
    {
        var connection = new NpgsqlConnection(Fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SET search_path TO \"{TenantIdentifier.SchemaNameOf(tenant)}\"", connection);
        await command.ExecuteNonQueryAsync();
        return connection;
    }

    protected static HttpRequestMessage Request(HttpMethod method, string path, object? body = null, string? ifMatch = null, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return request;
    }
}
