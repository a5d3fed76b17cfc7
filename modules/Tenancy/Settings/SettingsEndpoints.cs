using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Events;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Resolution;
using Monolith.SharedKernel.Http.OpenApi;

namespace Monolith.Tenancy.Settings;

internal sealed record SettingRequest(JsonElement Value);

internal sealed record SettingResponse(string Key, JsonElement Value, DateTimeOffset UpdatedAt);

/// <summary>
/// Tenant-wide settings (<c>/settings</c>): read by viewers, written by admins. Other modules read them in-process and
/// follow their changes through <see cref="TenantSettingChanged"/>, published in the writing transaction.
/// </summary>
internal static partial class SettingsEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var settings = app.MapGroup("/settings").RequireTenant().WithTags("Settings");
        settings.MapGet("/", ListAsync).RequireAuthorization(Policies.Viewer);
        settings.MapGet("/{key}", GetAsync).RequireAuthorization(Policies.Viewer).ProducesNotFound();
        settings.MapPut("/{key}", PutAsync).RequireAuthorization(Policies.Admin);
    }

    private static async Task<Ok<SettingResponse[]>> ListAsync(TenantDatabase database, CancellationToken ct)
    {
        await using var tenant = await database.BeginAsync(ct);
        await using var command = tenant.Command("SELECT key, value::text, updated_at FROM tenant_settings ORDER BY key");
        await using var reader = await command.ExecuteReaderAsync(ct);
        var items = new List<SettingResponse>();
        while (await reader.ReadAsync(ct))
        {
            items.Add(Read(reader));
        }

        return TypedResults.Ok(items.ToArray());
    }

    private static async Task<Results<Ok<SettingResponse>, ProblemHttpResult>> GetAsync(string key, TenantDatabase database, CancellationToken ct)
    {
        await using var tenant = await database.BeginAsync(ct);
        await using var command = tenant.Command("SELECT key, value::text, updated_at FROM tenant_settings WHERE key = $1");
        command.Parameters.AddWithValue(key);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? TypedResults.Ok(Read(reader)) : Problems.NotFound("No setting with that key.");
    }

    private static async Task<Results<Ok<SettingResponse>, ValidationProblem>> PutAsync(
        string key, SettingRequest request, TenantDatabase database, TenantContext tenants, InProcessEvents events, CancellationToken ct)
    {
        if (!KeyFormat().IsMatch(key))
        {
            return Problems.Validation("key", "key must match ^[a-z0-9][a-z0-9._-]{0,63}$.");
        }

        if (request.Value.ValueKind == JsonValueKind.Undefined)
        {
            return Problems.Validation("value", "value is required.");
        }

        await using var tenant = await database.BeginAsync(ct);
        SettingResponse saved;
        await using (var command = tenant.Command(
            """
            INSERT INTO tenant_settings (key, value) VALUES ($1, $2::jsonb)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()
            RETURNING key, value::text, updated_at
            """))
        {
            command.Parameters.AddWithValue(key);
            command.Parameters.AddWithValue(request.Value.GetRawText());
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            saved = Read(reader);
        }

        await events.PublishAsync(new TenantSettingChanged(tenants.Required, key), tenant.Transaction, ct);
        await tenant.CommitAsync(ct);
        return TypedResults.Ok(saved);
    }

    private static SettingResponse Read(Npgsql.NpgsqlDataReader reader)
    {
        using var document = JsonDocument.Parse(reader.GetString(1));
        return new SettingResponse(reader.GetString(0), document.RootElement.Clone(), reader.GetFieldValue<DateTimeOffset>(2));
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex KeyFormat();
}
