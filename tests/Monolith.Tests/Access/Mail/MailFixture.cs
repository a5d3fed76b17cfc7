using Microsoft.Extensions.DependencyInjection;
using Monolith.Access.Data;
using Monolith.Access.Mail;
using Monolith.SharedKernel.Context;
using Monolith.Tenancy;
using Monolith.Tenancy.Catalog;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Provisioning;
using Monolith.Tests.Support;
using Npgsql;

namespace Monolith.Tests.Access.Mail;

/// <summary>
/// A database of its own (delivery takes every due tenant of its database: on the shared one it would take other tests'
/// mail), an in-process SMTP server, and a host that sends there without running jobs: the tests run the delivery
/// themselves (<see cref="DeliverAsync"/>). Each test provisions tenants of its own. Tenant roles belong to the server,
/// not to a database: when the collection ends, the database is dropped and its tenants' roles with it, so no other
/// test finds roles without a tenant (the collection runs after the parallel ones, alone).
/// </summary>
public sealed class MailFixture : IAsyncLifetime
{
    public const int MaxAttempts = 3;
    public const int RetrySeconds = 600;

    public InProcessSmtpServer Smtp { get; private set; } = null!;

    public TestConnections Connections { get; private set; } = null!;

    public MonolithFactory Factory { get; private set; } = null!;

    /// <summary>The settings of <see cref="Factory"/>: a second host made with <see cref="Host"/> starts from them.</summary>
    public IDictionary<string, string?> Settings => new Dictionary<string, string?>(Smtp.Settings)
    {
        ["Mail:From"] = "Monolith Tests <no-reply@mail.monolith.test>",
        ["Mail:MaxAttempts"] = MaxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Mail:RetrySeconds"] = RetrySeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Mail:MaxRetrySeconds"] = "3600",
        ["Mail:LeaseSeconds"] = "120",
    };

    public async Task InitializeAsync()
    {
        Smtp = await InProcessSmtpServer.StartNewAsync();
        Connections = await (await TestDatabase.Shared).CreateDatabaseAsync("monolith_mail");
        Factory = Host(Settings);
    }

    /// <summary>Another host on this fixture's database (started), with <paramref name="settings"/> and test services.</summary>
    public MonolithFactory Host(IDictionary<string, string?> settings, Action<IServiceCollection>? services = null)
    {
        var factory = new MonolithFactory(Connections, settings, services);
        _ = factory.Server;
        return factory;
    }

    public async Task<TenantInfo> ProvisionAsync(string prefix)
    {
        var identifier = MonolithFixture.UniqueIdentifier(prefix);
        var result = await Factory.Services.GetRequiredService<TenantProvisioner>().CreateAsync(
            new CreateTenantCommand(identifier, identifier, MonolithFixture.OwnerEmail(identifier), MonolithFixture.OwnerPassword), CancellationToken.None);
        return result.Tenant ?? throw new InvalidOperationException($"provisioning {identifier}: {result.Status} {result.Detail}");
    }

    /// <summary>Runs the delivery once on <paramref name="host"/> (this fixture's host by default).</summary>
    internal Task<int> DeliverAsync(MonolithFactory? host = null) =>
        (host ?? Factory).Services.GetRequiredService<MailDelivery>().RunOnceAsync(CancellationToken.None);

    /// <summary>Queues mails as a flow does: <see cref="MailOutbox.EnqueueAsync"/> in a tenant transaction, committed or rolled back.</summary>
    internal async Task<Guid[]> EnqueueAsync(TenantInfo tenant, bool commit, params OutgoingMail[] mails)
    {
        using var scope = Factory.Services.GetRequiredService<TenantContext>().Enter(tenant);
        using var operation = OperationContext.Begin(new OperationContext { ActorKind = ActorKinds.Cli, ActorName = "mail-test" });
        await using var session = await Factory.Services.GetRequiredService<AccessDatabase>().BeginAsync(CancellationToken.None);
        var ids = new List<Guid>();
        foreach (var mail in mails)
        {
            ids.Add(await MailOutbox.EnqueueAsync(session.Db, mail, CancellationToken.None));
        }

        if (commit)
        {
            await session.CommitAsync(CancellationToken.None);
        }

        return ids.ToArray();
    }

    internal Task<Guid[]> EnqueueAsync(TenantInfo tenant, params OutgoingMail[] mails) => EnqueueAsync(tenant, commit: true, mails);

    /// <summary>A mail to <paramref name="to"/> whose bodies carry <paramref name="token"/> (a stand-in for a flow's single-use token).</summary>
    internal static OutgoingMail Mail(string to, string token, string subject = "Your invitation") => new(
        "invitation", to, subject,
        $"Open http://localhost:5080/accept-invitation?tenant=t&token={token} to accept.",
        $"<p><a href=\"http://localhost:5080/accept-invitation?tenant=t&amp;token={token}\">Accept</a></p>");

    /// <summary>A statement as the superuser, behind the application's back.</summary>
    public async Task ExecuteAsync(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(Connections.Superuser);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        await command.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(Connections.Superuser);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Every waiting mail of the tenant due now, as if its retry time (or lease) were over, and its platform hint with it.</summary>
    public async Task MakeDueNowAsync(TenantInfo tenant)
    {
        await ExecuteAsync(
            $"""
             UPDATE "{tenant.SchemaName}".mail_outbox SET next_attempt_at = now(), locked_until = NULL WHERE sent_at IS NULL AND failed_at IS NULL;
             INSERT INTO platform.mail_due (tenant_id, due_at) VALUES ('{tenant.Id}', now())
             ON CONFLICT (tenant_id) DO UPDATE SET due_at = now();
             """);
    }

    public async Task DisposeAsync()
    {
        var roles = new List<string>();
        await using (var connection = new NpgsqlConnection(Connections.Superuser))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT role_name FROM platform.tenants", connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                roles.Add(reader.GetString(0));
            }
        }

        await Factory.DisposeAsync();
        await Smtp.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using var server = new NpgsqlConnection((await TestDatabase.Shared).ServerConnectionString);
        await server.OpenAsync();
        var database = new NpgsqlConnectionStringBuilder(Connections.Superuser).Database!;
        await using (var drop = new NpgsqlCommand($"DROP DATABASE \"{database}\" WITH (FORCE)", server))
        {
            await drop.ExecuteNonQueryAsync();
        }

        foreach (var role in roles)
        {
            await using var drop = new NpgsqlCommand($"DROP ROLE IF EXISTS \"{role}\"", server);
            await drop.ExecuteNonQueryAsync();
        }
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MailCollection : ICollectionFixture<MailFixture>
{
    public const string Name = "mail";
}
