using System.Data;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Access.Data;

/// <summary>
/// One unit of work on the current tenant: a tenant connection and its transaction; disposing without
/// <see cref="CommitAsync"/> rolls back. Shaped like the transaction-scoped connection the tenant data access is
/// moving to, so every Access statement already runs inside an explicit transaction.
/// </summary>
internal sealed class TenantUnit : IAsyncDisposable
{
    private TenantUnit(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        Connection = connection;
        Transaction = transaction;
    }

    public NpgsqlConnection Connection { get; }

    public NpgsqlTransaction Transaction { get; }

    public static async Task<TenantUnit> BeginAsync(TenantDatabase database, CancellationToken ct, IsolationLevel isolation = IsolationLevel.ReadCommitted)
    {
        var connection = await database.OpenConnectionAsync(ct);
        try
        {
            return new TenantUnit(connection, await connection.BeginTransactionAsync(isolation, ct));
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public NpgsqlCommand Command(string sql) => new(sql, Connection, Transaction);

    public Task CommitAsync(CancellationToken ct) => Transaction.CommitAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await Transaction.DisposeAsync();
        await Connection.DisposeAsync();
    }
}
