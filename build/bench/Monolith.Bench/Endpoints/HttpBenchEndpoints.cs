using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Paging;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Resolution;

namespace Monolith.Bench.Endpoints;

/// <summary>
/// Bench-only baselines for build/bench/http.sh (served by the bench host only): a trivial tenant endpoint
/// open to anonymous callers and the same one behind the viewer policy (what token validation costs), and
/// GET /customers?limit=50 done by hand (what the Customers module's stack costs over raw Npgsql).
/// </summary>
internal static class HttpBenchEndpoints
{
    private const string CustomersSql =
        "SELECT id, name, legal_name, email, phone, status, created_at, updated_at, xmin FROM customers ORDER BY created_at ASC, id ASC LIMIT $1";

    public static void MapHttpBenchEndpoints(this IEndpointRouteBuilder app)
    {
        var bench = app.MapGroup("/bench/http").RequireTenant().ExcludeFromDescription();

        // Same handler, same tenant resolution; only the authorization differs.
        bench.MapGet("/anonymous", () => TypedResults.Ok(new { ok = true })).AllowAnonymous();
        bench.MapGet("/viewer", () => TypedResults.Ok(new { ok = true })).RequireAuthorization(Policies.Viewer);

        // GET /customers?limit=50 (default sort createdAt) without the module: the same SQL on a tenant connection,
        // the same JSON written by hand. Anonymous: the floor the full stack is compared with.
        bench.MapGet("/customers-raw", async (HttpContext http, TenantDatabase database, IOptions<JsonOptions> options, CancellationToken ct) =>
        {
            const int limit = 50;
            await using var session = await database.BeginAsync(ct);
            var connection = session.Connection;
            await using var command = new Npgsql.NpgsqlCommand(CustomersSql, connection);
            command.Parameters.AddWithValue(limit + 1);
            http.Response.ContentType = "application/json; charset=utf-8";
            // The escaping the framework's serializer uses, so the bytes are the same.
            await using var json = new Utf8JsonWriter(http.Response.BodyWriter.AsStream(),
                new JsonWriterOptions { Encoder = options.Value.SerializerOptions.Encoder });
            json.WriteStartObject();
            json.WriteStartArray("items");
            var count = 0;
            DateTime lastCreated = default;
            Guid lastId = default;
            await using (var reader = await command.ExecuteReaderAsync(ct))
            {
                while (count < limit && await reader.ReadAsync(ct))
                {
                    count++;
                    lastId = reader.GetGuid(0);
                    lastCreated = reader.GetDateTime(6);
                    json.WriteStartObject();
                    json.WriteString("id", lastId);
                    json.WriteString("name", reader.GetString(1));
                    WriteNullable(json, "legalName", reader, 2);
                    json.WriteString("email", reader.GetString(3));
                    WriteNullable(json, "phone", reader, 4);
                    json.WriteString("status", reader.GetString(5));
                    json.WriteString("createdAt", lastCreated);
                    json.WriteString("updatedAt", reader.GetDateTime(7));
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                if (count == limit && await reader.ReadAsync(ct))
                {
                    json.WriteString("nextCursor", Cursor.Encode(new RawCursor("createdAt", null, null, null, lastCreated, lastId)));
                }
                else
                {
                    json.WriteNull("nextCursor");
                }
            }

            json.WriteEndObject();
            await json.FlushAsync(ct);
        }).AllowAnonymous();
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, Npgsql.NpgsqlDataReader reader, int ordinal)
    {
        if (reader.IsDBNull(ordinal))
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, reader.GetString(ordinal));
        }
    }

    /// <summary>The shape of the Customers module's cursor, so the raw answer carries the same nextCursor.</summary>
    private sealed record RawCursor(string Sort, string? Status, string? Q, string? Name, DateTime? CreatedAt, Guid Id);
}
