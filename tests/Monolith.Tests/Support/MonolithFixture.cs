using Microsoft.Extensions.DependencyInjection;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Provisioning;
using Npgsql;
using Respawn;

namespace Monolith.Tests.Support;

/// <summary>
/// One host and two standard tenants ("alpha", "beta") for the integration collection. Tests reset the
/// standard tenants' data with <see cref="ResetAsync"/> (one Respawner for the run); tests that need
/// tenants of their own provision them under unique identifiers.
/// </summary>
public sealed class MonolithFixture : IAsyncLifetime
{
    public const string Alpha = "alpha";
    public const string Beta = "beta";
    public const string OwnerPassword = "correct-horse-battery-staple";

    private Respawner? respawner;

    public MonolithFactory Factory { get; private set; } = null!;

    public TestDatabase Database { get; private set; } = null!;

    /// <summary>The superuser's connection to the run's database: for tests that act behind the API's back.</summary>
    public string ConnectionString => Database.ConnectionString;

    /// <summary>The run's database as the host sees it (request role and owner role).</summary>
    public TestConnections Connections => Database.Connections;

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.Shared;
        Factory = new MonolithFactory(Database.Connections);
        _ = Factory.Server; // start the host: platform scripts run now
        await EnsureTenantAsync(Alpha);
        await EnsureTenantAsync(Beta);

        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        respawner = await Respawner.CreateAsync(connection, new RespawnerOptions
        {
            DbAdapter = DbAdapter.Postgres,
            SchemasToInclude = [TenantIdentifier.SchemaNameOf(Alpha), TenantIdentifier.SchemaNameOf(Beta)],
            // The audit chain's head row is reset below rather than deleted: every audited write needs it.
            TablesToIgnore = ["schemaversions", "audit_chain_head"],
        });
    }

    /// <summary>Empties the standard tenants' tables (their audit chains start again, unanchored), then recreates their owners.</summary>
    public async Task ResetAsync()
    {
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await respawner!.ResetAsync(connection);
            await using var chains = new NpgsqlCommand(
                $"""
                 UPDATE "{TenantIdentifier.SchemaNameOf(Alpha)}".audit_chain_head SET seq = 0, hash = NULL, prev_hash = NULL;
                 UPDATE "{TenantIdentifier.SchemaNameOf(Beta)}".audit_chain_head SET seq = 0, hash = NULL, prev_hash = NULL;
                 DELETE FROM platform.audit_anchors a USING platform.tenants t WHERE t.id = a.tenant_id AND t.identifier IN ('{Alpha}', '{Beta}');
                 """, connection);
            await chains.ExecuteNonQueryAsync();
        }

        foreach (var tenant in new[] { Alpha, Beta })
        {
            await RestoreOwnerAsync(tenant);
        }
    }

    public TService Service<TService>()
        where TService : notnull => Factory.Services.GetRequiredService<TService>();

    public static string OwnerEmail(string tenant) => $"owner@{tenant}.test";

    /// <summary>Provisions a tenant through the provisioning service (the same one the platform API uses).</summary>
    public async Task<TenantInfo> ProvisionAsync(string identifier, string? name = null)
    {
        var result = await Service<TenantProvisioner>().CreateAsync(
            new CreateTenantCommand(identifier, name ?? identifier, OwnerEmail(identifier), OwnerPassword), CancellationToken.None);
        return result.Tenant ?? throw new InvalidOperationException($"provisioning {identifier}: {result.Status} {result.Detail}");
    }

    public static string UniqueIdentifier(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    public async Task DisposeAsync() => await Factory.DisposeAsync();

    private async Task EnsureTenantAsync(string identifier)
    {
        if (await Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None) is null)
        {
            await ProvisionAsync(identifier);
        }
    }

    private async Task RestoreOwnerAsync(string identifier)
    {
        var setup = Factory.Services.GetService<ITenantOwnerSetup>();
        if (setup is null)
        {
            return;
        }

        var tenant = await Service<TenantCatalog>().FindAsync(identifier, CancellationToken.None);
        using var scope = Service<TenantContext>().Enter(tenant!);
        using var operation = OperationContext.Begin(new OperationContext { ActorKind = ActorKinds.Cli, ActorName = "test-fixture" });
        await setup.CreateOwnerAsync(await setup.PrepareAsync(OwnerEmail(identifier), OwnerPassword, CancellationToken.None), CancellationToken.None);
    }
}

[CollectionDefinition(Name)]
public sealed class IntegrationCollection : ICollectionFixture<MonolithFixture>
{
    public const string Name = "integration";
}

/// <summary>Base for integration test classes: the shared host, with the standard tenants' data reset before each test.</summary>
[Collection(IntegrationCollection.Name)]
public abstract class IntegrationTest(MonolithFixture fixture) : IAsyncLifetime
{
    protected MonolithFixture Fixture { get; } = fixture;

    public virtual Task InitializeAsync() => Fixture.ResetAsync();

    public virtual Task DisposeAsync() => Task.CompletedTask;
}

public static class Categories
{
    public const string Unit = "Unit";
    public const string Integration = "Integration";
    public const string Security = "Security";
}
