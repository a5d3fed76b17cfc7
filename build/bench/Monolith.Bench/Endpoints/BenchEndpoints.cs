using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Monolith.Tenancy;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Resolution;

namespace Monolith.Bench.Endpoints;

/// <summary>
/// Bench-only endpoints, served only by the bench host (<see cref="BenchHost"/>), never by the shipped one:
/// the same query with and without the tenant switch, so benchmarks can measure what isolation costs.
/// </summary>
internal static class BenchEndpoints
{
    public static void MapBenchEndpoints(this IEndpointRouteBuilder app)
    {
        var bench = app.MapGroup("/bench").RequireTenant().ExcludeFromDescription().AllowAnonymous();

        // The tenant path: a pooled connection bound to the tenant (role + search_path), then the query.
        bench.MapGet("/session", async (TenantDatabase database, CancellationToken ct) =>
        {
            await using var session = await database.BeginAsync(ct);
            var connection = session.Connection;
            await using var command = new Npgsql.NpgsqlCommand("SELECT current_schema(), current_user, (SELECT count(*) FROM tenant_settings)", connection);
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            return TypedResults.Ok(new { schema = reader.GetString(0), role = reader.GetString(1), settings = reader.GetInt64(2) });
        });

        // The same answer without the switch: owner connection, schema-qualified table.
        bench.MapGet("/session-unswitched", async (PlatformDatabase platform, TenantContext tenants, CancellationToken ct) =>
        {
            var tenant = tenants.Required;
            await using var connection = await platform.OpenConnectionAsync(ct);
            await using var command = new Npgsql.NpgsqlCommand(
                $"SELECT $1::text, $2::text, (SELECT count(*) FROM \"{tenant.SchemaName}\".tenant_settings)", connection);
            command.Parameters.AddWithValue(tenant.SchemaName);
            command.Parameters.AddWithValue(tenant.RoleName);
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            return TypedResults.Ok(new { schema = reader.GetString(0), role = reader.GetString(1), settings = reader.GetInt64(2) });
        });

        app.MapHttpBenchEndpoints();
        app.MapNpgsqlCustomersBenchEndpoints();

        // Bytes this process has allocated so far: read before and after a load run, it gives bytes per request.
        app.MapGet("/bench/allocated", () => TypedResults.Ok(new { bytes = GC.GetTotalAllocatedBytes(precise: true) }))
            .AllowAnonymous().ExcludeFromDescription();
    }
}
