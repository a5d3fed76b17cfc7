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
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // Never "No Reset On Close": a pooled connection must not carry one tenant's role and search_path into another's request.
        builder.NoResetOnClose = false;
        ConnectionString = builder.ConnectionString;
        DataSource = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    public string ConnectionString { get; }

    public NpgsqlDataSource DataSource { get; }

    public ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken ct = default) => DataSource.OpenConnectionAsync(ct);

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}
