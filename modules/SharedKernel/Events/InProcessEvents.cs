using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;

namespace Monolith.SharedKernel.Events;

/// <summary>
/// Handles an event another module publishes, inside the publisher's transaction: whatever the handler
/// writes through <paramref name="transaction"/> commits or rolls back with the change that raised it.
/// The connection is the publisher's tenant-bound connection.
/// </summary>
public interface IInProcessEventSubscriber<in TEvent>
{
    Task HandleAsync(TEvent message, DbTransaction transaction, CancellationToken ct);
}

/// <summary>Publishes to every registered handler of the event type, in registration order. No reflection scanning.</summary>
public sealed class InProcessEvents(IServiceProvider services)
{
    public async Task PublishAsync<TEvent>(TEvent @event, DbTransaction transaction, CancellationToken ct)
    {
        foreach (var handler in services.GetServices<IInProcessEventSubscriber<TEvent>>())
        {
            await handler.HandleAsync(@event, transaction, ct);
        }
    }
}
