using Monolith.SharedKernel.Context;
using Npgsql;

namespace Monolith.Tenancy.Operators;

/// <summary>The platform operations the operator trail records (CONTRACT §9).</summary>
internal static class OperatorActions
{
    public const string TenantCreate = "tenant.create";
    public const string TenantUpdate = "tenant.update";
    public const string TenantSuspend = "tenant.suspend";
    public const string TenantResume = "tenant.resume";
    public const string TenantDelete = "tenant.delete";
    public const string TenantUndelete = "tenant.undelete";
    public const string TenantPurge = "tenant.purge";
    public const string TenantBackup = "tenant.backup";
    public const string TenantRestore = "tenant.restore";
    public const string TenantMove = "tenant.move";
    public const string ServerAdd = "server.add";
    public const string ServerUpdate = "server.update";
    public const string MigrationRun = "migration.run";
    public const string RetentionRun = Contracts.PlatformOperations.RetentionRun;

    public static readonly IReadOnlyList<string> All =
    [
        TenantCreate, TenantUpdate, TenantSuspend, TenantResume, TenantDelete, TenantUndelete, TenantPurge, TenantBackup, TenantRestore,
        TenantMove, ServerAdd, ServerUpdate, MigrationRun, RetentionRun,
    ];
}

/// <summary>What an operation was done to: the tenant's identifier and, once it has one, its id.</summary>
internal sealed record OperatorSubject(string? Identifier, Guid? TenantId = null);

/// <summary>
/// Writes <c>platform.operator_events</c> (append-only, owner pool). A successful operation is recorded by the statement
/// list of its own transaction (<see cref="BeginAsync"/> … <see cref="OperatorWork.SucceededAsync"/>), so the effect and its
/// record commit together or not at all; a failed one is recorded on its own, since its effect (if any) rolled back.
/// The actor comes from the current <see cref="OperationContext"/>: the platform key, the CLI (as the operating-system
/// user and host) or a job.
/// </summary>
internal sealed class OperatorTrail(PlatformDatabase database)
{
    public async Task<OperatorWork> BeginAsync(CancellationToken ct)
    {
        var connection = await database.DataSource.OpenConnectionAsync(ct);
        try
        {
            return new OperatorWork(connection, await connection.BeginTransactionAsync(ct));
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async Task FailedAsync(string action, OperatorSubject subject, string detail, CancellationToken ct)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync(ct);
        await InsertAsync(connection, null, action, subject, "failed", detail, ct);
    }

    internal static async Task InsertAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string action, OperatorSubject subject, string outcome, string? detail,
        CancellationToken ct)
    {
        var (kind, name) = Actor(OperationContext.Current);
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO platform.operator_events (id, action, tenant, tenant_id, actor_kind, actor_name, request_id, outcome, detail)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """, connection, transaction);
        command.Parameters.AddWithValue(Guid.CreateVersion7());
        command.Parameters.AddWithValue(action);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)subject.Identifier ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)subject.TenantId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        command.Parameters.AddWithValue(kind);
        command.Parameters.AddWithValue(name);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)OperationContext.Current?.RequestId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.AddWithValue(outcome);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)detail ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// The trail's actor kinds are the contract's: "platform-key", "cli" (named after the operating-system user and host,
    /// not after the process) and "job" (named after the job). Work outside any of those (a test calling a service) is
    /// recorded as the command line's, which is what runs platform services outside a request.
    /// </summary>
    internal static (string Kind, string Name) Actor(OperationContext? context) => context?.ActorKind switch
    {
        ActorKinds.Platform => ("platform-key", context.ActorName ?? "platform"),
        ActorKinds.Job => ("job", context.ActorName ?? "job"),
        _ => ("cli", $"{Environment.UserName}@{Environment.MachineName}"),
    };
}

/// <summary>One platform operation's transaction on the owner pool; disposing it without success rolls it back.</summary>
internal sealed class OperatorWork(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
{
    public NpgsqlConnection Connection { get; } = connection;

    public NpgsqlTransaction Transaction { get; } = transaction;

    /// <summary>Records the operation as succeeded and commits it with its effect.</summary>
    public async Task SucceededAsync(string action, OperatorSubject subject, string? detail, CancellationToken ct)
    {
        await OperatorTrail.InsertAsync(Connection, Transaction, action, subject, "succeeded", detail, ct);
        await Transaction.CommitAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        await Transaction.DisposeAsync();
        await Connection.DisposeAsync();
    }
}

/// <summary>The operator trail as other modules see it (<see cref="Contracts.IOperatorTrail"/>).</summary>
internal sealed class OperatorTrailContract(OperatorTrail trail) : Contracts.IOperatorTrail
{
    public async Task RecordAsync(string action, string? tenant, Guid? tenantId, bool succeeded, string detail, CancellationToken ct)
    {
        var subject = new OperatorSubject(tenant, tenantId);
        if (!succeeded)
        {
            await trail.FailedAsync(action, subject, detail, ct);
            return;
        }

        await using var work = await trail.BeginAsync(ct);
        await work.SucceededAsync(action, subject, detail, ct);
    }
}
