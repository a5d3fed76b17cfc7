using Npgsql;

namespace Monolith.Tenancy;

/// <summary>
/// The one connection pool of the host. Connections taken from it directly run as the owner role
/// with the default search_path: for platform work only (catalog, jobs, logs). Tenant data is
/// reached through <see cref="Isolation.TenantDatabase"/>, which switches role and schema.
/// </summary>
public sealed class PlatformDatabase : IAsyncDisposable
{
    public PlatformDatabase(string connectionString)
    {
        // Npgsql resets every connection that returns to the pool (DISCARD ALL), which is what clears a tenant's role and
        // search_path before the next request. A connection string that turns the reset off is refused (docs/adr/0001).
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.NoResetOnClose)
        {
            throw new InvalidOperationException(
                "ConnectionStrings__Monolith turns off Npgsql's connection reset (No Reset On Close): one tenant's role and search_path would reach the next request. Remove that setting.");
        }

        ConnectionString = builder.ConnectionString;
        DataSource = NpgsqlDataSource.Create(ConnectionString);
    }

    public string ConnectionString { get; }

    public NpgsqlDataSource DataSource { get; }

    public ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken ct = default) => DataSource.OpenConnectionAsync(ct);

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}
