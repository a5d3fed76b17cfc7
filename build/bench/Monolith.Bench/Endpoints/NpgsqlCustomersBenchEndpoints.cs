using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Paging;
using Monolith.Tenancy.Idempotency;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Resolution;
using Npgsql;

namespace Monolith.Bench.Endpoints;

/// <summary>
/// Bench-only twins of GET /customers?limit=50 and POST /customers on plain Npgsql (build/bench/ef.sh): the same
/// route group conventions, policies, tenant unit of work, SQL and JSON as the Customers module, only the data access
/// differs (NpgsqlCommand and readers by position instead of the module's EF Core context). The EF Core endpoint is
/// compared with these in one host, in one run.
/// </summary>
internal static class NpgsqlCustomersBenchEndpoints
{
    private const string ListSql =
        "SELECT id, name, legal_name, email, phone, status, created_at, updated_at FROM customers ORDER BY created_at ASC, id ASC LIMIT $1";

    public static void MapNpgsqlCustomersBenchEndpoints(this IEndpointRouteBuilder app)
    {
        var bench = app.MapGroup("/bench/npgsql").RequireTenant().ExcludeFromDescription();
        bench.MapGet("/customers", ListAsync).RequireAuthorization(Policies.Viewer);
        bench.MapPost("/customers", CreateAsync).RequireAuthorization(Policies.Member);
    }

    private static async Task<IResult> ListAsync(HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        var errors = new SharedKernel.Validation.ValidationErrors();
        var page = PageRequest.Parse(http.Request.Query["limit"].ToString() is { Length: > 0 } l ? l : null, null, errors);
        await using var session = await database.BeginAsync(ct);
        await using var command = new NpgsqlCommand(ListSql, session.Connection, session.Transaction);
        command.Parameters.AddWithValue(page.ReadCount);
        var rows = new List<BenchCustomer>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                rows.Add(new BenchCustomer(reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetString(5),
                    reader.GetDateTime(6), reader.GetDateTime(7)));
            }
        }

        return TypedResults.Ok(page.ToPage(rows, last => new BenchCursor("createdAt", null, null, null, last.CreatedAt, last.Id)));
    }

    private static async Task<IResult> CreateAsync(BenchCreateCustomer request, HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        await using var work = await TenantTransaction.BeginAsync(http, database, ct);
        var id = Guid.CreateVersion7();
        var projects = request.Projects.Select(p => (Id: Guid.CreateVersion7(), p.Name, p.Code)).ToList();
        await using var batch = new NpgsqlBatch(work.Connection, work.Transaction);
        var customer = new NpgsqlBatchCommand(
            "INSERT INTO customers (id, name, legal_name, email, phone, status) VALUES ($1, $2, $3, $4, $5, 'active') RETURNING created_at, updated_at, xmin");
        customer.Parameters.AddWithValue(id);
        customer.Parameters.AddWithValue(request.Name);
        customer.Parameters.AddWithValue((object?)request.LegalName ?? DBNull.Value);
        customer.Parameters.AddWithValue(request.Email);
        customer.Parameters.AddWithValue((object?)request.Phone ?? DBNull.Value);
        batch.BatchCommands.Add(customer);
        foreach (var project in projects)
        {
            var insert = new NpgsqlBatchCommand(
                "INSERT INTO projects (id, customer_id, name, code, status) VALUES ($1, $2, $3, $4, 'active') RETURNING created_at, updated_at");
            insert.Parameters.AddWithValue(project.Id);
            insert.Parameters.AddWithValue(id);
            insert.Parameters.AddWithValue(project.Name);
            insert.Parameters.AddWithValue((object?)project.Code ?? DBNull.Value);
            batch.BatchCommands.Add(insert);
        }

        DateTime createdAt, updatedAt;
        uint version;
        var projectResponses = new List<BenchProject>();
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            (createdAt, updatedAt, version) = (reader.GetDateTime(0), reader.GetDateTime(1), reader.GetFieldValue<uint>(2));
            foreach (var project in projects)
            {
                await reader.NextResultAsync(ct);
                await reader.ReadAsync(ct);
                projectResponses.Add(new BenchProject(project.Id, id, project.Name, project.Code, "active", reader.GetDateTime(0), reader.GetDateTime(1)));
            }
        }

        await work.CommitAsync(ct);
        http.Response.Headers.ETag = $"\"{version}\"";
        return TypedResults.Created($"/customers/{id}",
            new BenchCreatedCustomer(id, request.Name, request.LegalName, request.Email, request.Phone, "active", createdAt, updatedAt, projectResponses));
    }

    private sealed record BenchCustomer(Guid Id, string Name, string? LegalName, string Email, string? Phone, string Status, DateTime CreatedAt, DateTime UpdatedAt);

    private sealed record BenchCursor(string Sort, string? Status, string? Q, string? Name, DateTime? CreatedAt, Guid Id);

    private sealed record BenchCreateProject(string Name, string? Code);

    private sealed record BenchCreateCustomer(string Name, string? LegalName, string Email, string? Phone, IReadOnlyList<BenchCreateProject> Projects);

    private sealed record BenchProject(Guid Id, Guid CustomerId, string Name, string? Code, string Status, DateTime CreatedAt, DateTime UpdatedAt);

    private sealed record BenchCreatedCustomer(
        Guid Id, string Name, string? LegalName, string Email, string? Phone, string Status, DateTime CreatedAt, DateTime UpdatedAt,
        IReadOnlyList<BenchProject> Projects);
}
