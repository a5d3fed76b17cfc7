using Microsoft.AspNetCore.Http;
using Monolith.Tenancy.Isolation;
using Npgsql;

namespace Monolith.Tenancy.Idempotency;

/// <summary>
/// A tenant connection with an open transaction, for one request's writes. Under <see cref="IdempotencyFilter"/>
/// the filter owns it: the endpoint's writes, the in-process events they publish and the recorded response commit
/// together, and <see cref="CommitAsync"/> leaves the commit to the filter. Otherwise the endpoint owns it.
/// </summary>
public sealed class TenantTransaction : IAsyncDisposable
{
    private readonly bool owned;

    private TenantTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction, bool owned)
    {
        Connection = connection;
        Transaction = transaction;
        this.owned = owned;
    }

    public NpgsqlConnection Connection { get; }

    public NpgsqlTransaction Transaction { get; }

    /// <summary>The request's shared transaction when the idempotency filter opened one, else a new one of this call's own.</summary>
    public static async Task<TenantTransaction> BeginAsync(HttpContext http, TenantDatabase database, CancellationToken ct)
    {
        if (Ambient(http) is { } ambient)
        {
            return new TenantTransaction(ambient.Connection, ambient.Transaction, owned: false);
        }

        var tenant = await database.BeginAsync(ct);
        return new TenantTransaction(tenant.Connection, tenant.Transaction, owned: true);
    }

    /// <summary>
    /// The connection and transaction the idempotency filter opened for this request, if any. Modules that write
    /// through EF Core enlist with <c>Database.SetDbConnection</c> and <c>Database.UseTransactionAsync</c>.
    /// </summary>
    public static AmbientTransaction? Ambient(HttpContext http) => http.Features.Get<AmbientTransaction>();

    public NpgsqlCommand Command(string sql) => new(sql, Connection, Transaction);

    /// <summary>Commits when this call owns the transaction; under the idempotency filter the filter commits once the response is recorded.</summary>
    public Task CommitAsync(CancellationToken ct) => owned ? Transaction.CommitAsync(ct) : Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (owned)
        {
            await Transaction.DisposeAsync();
            await Connection.DisposeAsync();
        }
    }
}

/// <summary>The request-wide tenant connection and transaction, set by <see cref="IdempotencyFilter"/> while the endpoint runs.</summary>
public sealed record AmbientTransaction(NpgsqlConnection Connection, NpgsqlTransaction Transaction);
