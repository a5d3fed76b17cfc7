using Microsoft.Extensions.DependencyInjection;
using Monolith.Tenancy.Notifications;
using Monolith.Tests.Support;

namespace Monolith.Tests.Access;

/// <summary>A second host instance on the test run's database: what one instance changes, the other must follow.</summary>
public sealed class SecondHostFixture : IAsyncLifetime
{
    public MonolithFactory Factory { get; private set; } = null!;

    internal ChangeNotificationHub Hub => Factory.Services.GetRequiredService<ChangeNotificationHub>();

    public async Task InitializeAsync()
    {
        var database = await TestDatabase.Shared;
        Factory = new MonolithFactory(database.Connections);
        _ = Factory.Server;
        await ListeningAsync(Factory);
    }

    public async Task DisposeAsync() => await Factory.DisposeAsync();

    /// <summary>Waits (up to 10 s) until the host's hub listens.</summary>
    public static async Task ListeningAsync(MonolithFactory factory, int connections = 1)
    {
        var hub = factory.Services.GetRequiredService<ChangeNotificationHub>();
        var until = DateTime.UtcNow.AddSeconds(10);
        while ((hub.Connections < connections || hub.ProcessId == 0) && DateTime.UtcNow < until)
        {
            await Task.Delay(20);
        }

        Assert.True(hub.Connections >= connections && hub.ProcessId != 0, "the change listener did not connect");
    }
}
