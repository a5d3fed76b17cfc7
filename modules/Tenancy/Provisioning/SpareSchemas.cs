using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Tenancy.Provisioning;

/// <summary>
/// A few tenant schemas made ahead of time from the template, each with its role (docs/adr/0062). A new tenant takes one
/// by renaming the schema and the role — every object refers to them by OID, and no tenant object names its schema in
/// text (a test holds that) — so filling a schema leaves the provisioning's critical section. Spares of other scripts
/// than the ones in force are never handed out; older ones are dropped at the next top-up.
/// </summary>
internal sealed partial class SpareSchemas(
    PlatformDatabase database, TenantTemplate template, TenantScripts scripts, IOptions<TenancyOptions> options, ILogger logger)
{
    private const string NamePrefix = "_monolith_spare_";

    private readonly Channel<bool> topUps = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>
    /// Takes a spare made by the scripts in force and makes it <paramref name="tenant"/>'s: schema and role renamed, the
    /// role granted to the request role. False when there is none (the caller fills a new schema itself).
    /// </summary>
    public async Task<bool> TryTakeAsync(TenantInfo tenant, CancellationToken ct)
    {
        if (options.Value.SpareSchemas <= 0)
        {
            return false;
        }

        await using var connection = await database.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        string schema, role;
        await using (var take = new NpgsqlCommand(
            """
            DELETE FROM platform.spare_schemas WHERE schema_name = (
                SELECT schema_name FROM platform.spare_schemas WHERE scripts = $1 ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING schema_name, role_name
            """, connection, transaction))
        {
            take.Parameters.AddWithValue(scripts.Value.LatestVersion ?? string.Empty);
            await using var reader = await take.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
            {
                return false;
            }

            (schema, role) = (reader.GetString(0), reader.GetString(1));
        }

        await using (var rename = new NpgsqlCommand(
            $"""
             ALTER SCHEMA {Spare(schema)} RENAME TO {SqlIdentifier.Quote(tenant.SchemaName)};
             ALTER ROLE {Spare(role)} RENAME TO {SqlIdentifier.Quote(tenant.RoleName)};
             GRANT {SqlIdentifier.Quote(tenant.RoleName)} TO {SqlIdentifier.QuoteConfigured(database.RequestRole)};
             """, connection, transaction))
        {
            await rename.ExecuteNonQueryAsync(ct);
        }

        await RequestLogins.GrantAsync(connection, transaction, tenant.Id, tenant.RoleName, ct);
        await transaction.CommitAsync(ct);
        RequestTopUp();
        return true;
    }

    public void RequestTopUp() => topUps.Writer.TryWrite(true);

    /// <summary>
    /// Makes spares until <see cref="TenancyOptions.SpareSchemas"/> of the scripts in force exist, after dropping those of
    /// older scripts (script versions sort by their number). One instance at a time (a try-lock: another one busy topping up is enough); each spare is made in
    /// one transaction, so a crash leaves none half-made. Returns how many it made.
    /// </summary>
    public async Task<int> TopUpAsync(CancellationToken ct)
    {
        var wanted = options.Value.SpareSchemas;
        if (wanted <= 0)
        {
            return 0;
        }

        await using var connection = await database.OpenConnectionAsync(ct);
        await using (var take = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", connection))
        {
            take.Parameters.AddWithValue(TopUpLock);
            if (!(bool)(await take.ExecuteScalarAsync(ct))!)
            {
                return 0;
            }
        }

        try
        {
            await DropStaleAsync(connection, ct);
            var made = 0;
            while (await CountAsync(connection, ct) < wanted && await MakeOneAsync(connection, ct))
            {
                made++;
            }

            return made;
        }
        finally
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", connection);
            release.Parameters.AddWithValue(TopUpLock);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>Waits for top-up requests (after each hand-out) and tops up; also once at start and every few minutes.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        RequestTopUp();
        while (!ct.IsCancellationRequested)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromMinutes(5));
            try
            {
                await topUps.Reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // the periodic top-up: catches spares another instance handed out
            }

            try
            {
                await TopUpAsync(ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogTopUpFailed(logger, e);
            }
        }
    }

    private async Task<bool> MakeOneAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        var name = NamePrefix + Guid.NewGuid().ToString("N")[..16];
        var role = name + "_role";
        if (await template.ScriptForAsync(name, role, ct) is not { } fill)
        {
            return false;
        }

        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var command = new NpgsqlCommand(SqlIdentifier.SchemaAndRoleDdl(name, role) + fill, connection, transaction))
        {
            await command.ExecuteNonQueryAsync(ct);
        }

        await using (var record = new NpgsqlCommand(
            "INSERT INTO platform.spare_schemas (schema_name, role_name, scripts) VALUES ($1, $2, $3)", connection, transaction))
        {
            record.Parameters.AddWithValue(name);
            record.Parameters.AddWithValue(role);
            record.Parameters.AddWithValue(scripts.Value.LatestVersion ?? string.Empty);
            await record.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
        return true;
    }

    private async Task DropStaleAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        var stale = new List<(string Schema, string Role)>();
        // Only older ones: during a rolling deploy, an instance still on the previous scripts must not drop the new spares.
        await using (var list = new NpgsqlCommand(
            "SELECT schema_name, role_name FROM platform.spare_schemas WHERE scripts COLLATE \"C\" < $1 COLLATE \"C\"", connection))
        {
            list.Parameters.AddWithValue(scripts.Value.LatestVersion ?? string.Empty);
            await using var reader = await list.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                stale.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        foreach (var (schema, role) in stale)
        {
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await TenantLocks.LockRoleChangesAsync(connection, transaction, ct);
            await using (var forget = new NpgsqlCommand("DELETE FROM platform.spare_schemas WHERE schema_name = $1", connection, transaction))
            {
                forget.Parameters.AddWithValue(schema);
                await forget.ExecuteNonQueryAsync(ct);
            }

            await using (var drop = new NpgsqlCommand(
                $"DROP SCHEMA IF EXISTS {Spare(schema)} CASCADE; DROP OWNED BY {Spare(role)}; DROP ROLE {Spare(role)};", connection, transaction))
            {
                await drop.ExecuteNonQueryAsync(ct);
            }

            await transaction.CommitAsync(ct);
        }
    }

    private async Task<long> CountAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var count = new NpgsqlCommand("SELECT count(*) FROM platform.spare_schemas WHERE scripts = $1", connection);
        count.Parameters.AddWithValue(scripts.Value.LatestVersion ?? string.Empty);
        return (long)(await count.ExecuteScalarAsync(ct))!;
    }

    /// <summary>A spare's name, checked: only names this class makes reach DDL.</summary>
    private static string Spare(string name) =>
        name.StartsWith(NamePrefix, StringComparison.Ordinal) && name[NamePrefix.Length..].All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_')
            ? name
            : throw new InvalidOperationException($"'{name}' is not a spare schema or role name.");

    private static readonly long TopUpLock = TenantLocks.KeyOf("\0spare-schemas");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Topping up the spare tenant schemas failed; new tenants fill their own schema meanwhile")]
    private static partial void LogTopUpFailed(ILogger logger, Exception exception);
}

/// <summary>Keeps the spare schemas topped up on this instance (docs/adr/0062).</summary>
internal sealed class SpareSchemasTopUp(TenantProvisioner provisioner) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => provisioner.Spares.RunAsync(stoppingToken);
}
