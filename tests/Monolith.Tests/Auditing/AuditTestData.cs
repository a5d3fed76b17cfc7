using Monolith.Auditing.Trail;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Auditing;

/// <summary>A tenant's audit record as the database holds it (read through the superuser connection), its changes as readers see them.</summary>
internal sealed record AuditRow(long Seq, Guid Id, DateTimeOffset OccurredAt, string Action, string EntityType, string EntityId,
    string ActorKind, Guid? ActorId, string? ActorEmail, string? RequestId, string Changes);

/// <summary>Small builders for audit tests: changes made the way the CLI and jobs make them, and raw reads of the trail.</summary>
internal static class AuditTestData
{
    public static OperationContext Cli(string? requestId = null) =>
        new() { ActorKind = ActorKinds.Cli, ActorName = "cli", RequestId = requestId ?? "cli-" + Guid.NewGuid().ToString("N") };

    public static async Task<TenantInfo> TenantAsync(this MonolithFixture fixture, string identifier) =>
        await fixture.Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None)
        ?? throw new InvalidOperationException($"no tenant {identifier}");

    /// <summary>Runs SQL as the tenant (its role and schema), inside the given operation.</summary>
    public static async Task TenantSqlAsync(this MonolithFixture fixture, TenantInfo tenant, string sql, OperationContext? operation = null, params object[] parameters)
    {
        using var scope = fixture.Service<TenantContext>().Enter(tenant);
        using var op = OperationContext.Begin(operation ?? Cli());
        await using var session = await fixture.Service<TenantDatabase>().BeginAsync();
        var connection = session.Connection;
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var p in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = p });
        }

        await command.ExecuteNonQueryAsync();
        await session.CommitAsync(CancellationToken.None);
    }

    public static Task PutSettingAsync(this MonolithFixture fixture, TenantInfo tenant, string key, string json, OperationContext? operation = null) =>
        fixture.TenantSqlAsync(tenant,
            "INSERT INTO tenant_settings (key, value) VALUES ($1, $2::jsonb) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()",
            operation, key, json);

    public static async Task<List<AuditRow>> AuditRowsAsync(this MonolithFixture fixture, TenantInfo tenant)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"""
            SELECT seq, id, occurred_at, action, entity_type, entity_id, actor_kind, actor_id, actor_email, request_id,
                   monolith.audit_changes(changes)::text
            FROM "{tenant.SchemaName}".audit_events ORDER BY seq
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<AuditRow>();
        while (await reader.ReadAsync())
        {
            rows.Add(new AuditRow(reader.GetInt64(0), reader.GetGuid(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetString(3),
                reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetGuid(7),
                reader.IsDBNull(8) ? null : reader.GetString(8), reader.IsDBNull(9) ? null : reader.GetString(9), reader.GetString(10)));
        }

        return rows;
    }

    /// <summary>SQL through the superuser connection: what someone with database access could do behind the API's back.</summary>
    public static async Task SuperuserSqlAsync(this MonolithFixture fixture, string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var p in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = p });
        }

        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Verifies the tenant's trail the way GET /audit-events/verify does (it anchors the chain's head first).</summary>
    public static async Task<AuditVerification> VerifyAsync(this MonolithFixture fixture, TenantInfo tenant, int batchSize = 10_000)
    {
        using var scope = fixture.Service<TenantContext>().Enter(tenant);
        return await VerifyAuditTrail.VerifyAsync(fixture.Service<TenantDatabase>(), batchSize, CancellationToken.None);
    }

    /// <summary>A scalar through the superuser connection.</summary>
    public static async Task<T> SuperuserScalarAsync<T>(this MonolithFixture fixture, string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var p in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = p });
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    public static async Task<DateTimeOffset> DatabaseNowAsync(this MonolithFixture fixture)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT clock_timestamp()", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return reader.GetFieldValue<DateTimeOffset>(0);
    }

    /// <summary>Writes <paramref name="count"/> audited changes (settings <c>{prefix}-0..n</c>).</summary>
    public static async Task WriteChangesAsync(this MonolithFixture fixture, TenantInfo tenant, string prefix, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await fixture.PutSettingAsync(tenant, $"{prefix}-{i}", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
