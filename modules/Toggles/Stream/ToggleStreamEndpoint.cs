using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http;
using Monolith.Tenancy;
using Monolith.Tenancy.Resolution;

namespace Monolith.Toggles.Stream;

/// <summary>
/// <c>GET /features/stream</c> (viewer+): Server-Sent Events, <c>event: toggle</c> per change of the tenant's toggles,
/// a <c>: keep-alive</c> comment every <see cref="TogglesOptions.StreamKeepAliveMilliseconds"/>, closed when the caller's
/// access ends, the client falls behind, or the host stops. The stream holds no database connection: its events come
/// from its tenant's <see cref="TenantToggleFeed"/>.
/// </summary>
internal static class ToggleStreamEndpoint
{
    public const string EventType = "toggle";

    private static readonly byte[] Opened = ": open\n\n"u8.ToArray();
    private static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/features/stream", OpenAsync)
            .RequireTenant()
            .RequireAuthorization(Policies.Viewer)
            .WithTags("Feature toggles")
            // Open for hours: no request time limit, and no per-tenant concurrency slot (it would hold one forever).
            .DisableRequestTimeout()
            .WithMetadata(new LongLivedResponseAttribute());

    private static async Task<ServerSentEventsResult<ToggleChangeEvent>> OpenAsync(
        HttpContext context, ToggleFeeds feeds, ICallerAccessMonitor access, TenantContext tenants, IOptions<TogglesOptions> options,
        IHostApplicationLifetime lifetime, CancellationToken ct)
    {
        var watch = access.Watch(context.User, Roles.Viewer);
        context.Response.RegisterForDispose(watch);
        var subscription = await feeds.SubscribeAsync(tenants.Required, ct);
        context.Response.RegisterForDispose(subscription);
        var keepAlive = TimeSpan.FromMilliseconds(Math.Max(10, options.Value.StreamKeepAliveMilliseconds));
        // RequestAborted is passed in: ServerSentEvents(values, eventType) wraps the values in an iterator of its own that
        // does not hand its cancellation on, so an [EnumeratorCancellation] token alone would never see the client leave.
        return TypedResults.ServerSentEvents(
            Events(subscription, watch, context.Response, keepAlive, lifetime.ApplicationStopping, context.RequestAborted), EventType);
    }

    /// <summary>
    /// The subscription's events until the stream ends. Comments (which <see cref="TypedResults.ServerSentEvents{T}(IAsyncEnumerable{T}, string?)"/>
    /// cannot write) go straight to the body between events: the formatter has written each event before it asks for the next.
    /// </summary>
    private static async IAsyncEnumerable<ToggleChangeEvent> Events(
        ToggleStreamSubscription subscription, ICallerAccessWatch watch, HttpResponse response, TimeSpan keepAlive, CancellationToken stopping,
        [EnumeratorCancellation] CancellationToken aborted = default)
    {
        // The stream's resources go as soon as it ends, whether or not the server runs the response's completion callbacks.
        try
        {
            using var ending = CancellationTokenSource.CreateLinkedTokenSource(aborted, watch.Ended, subscription.Closed, stopping);
            await WriteAsync(response, Opened, aborted); // sends the headers: the client knows the stream is open
            var events = subscription.Events;
            Task<bool>? waiting = null;
            Task? tick = null;
            while (!ending.IsCancellationRequested)
            {
                waiting ??= events.WaitToReadAsync(ending.Token).AsTask();
                tick ??= Task.Delay(keepAlive, ending.Token);
                await Task.WhenAny(waiting, tick);
                if (ending.IsCancellationRequested)
                {
                    break;
                }

                if (tick.IsCompleted)
                {
                    tick = null;
                    await WriteAsync(response, KeepAlive, aborted);
                }

                if (waiting.IsCompleted)
                {
                    if (!await waiting)
                    {
                        break; // completed: closed by the server
                    }

                    waiting = null;
                    while (!ending.IsCancellationRequested && events.TryRead(out var change))
                    {
                        yield return change;
                    }
                }
            }

            aborted.ThrowIfCancellationRequested(); // the client left: nobody to tell
            var reason = subscription.CloseReason
                ?? (watch.Ended.IsCancellationRequested ? "access ended" : stopping.IsCancellationRequested ? "the server is stopping" : "closed");
            await WriteAsync(response, Encoding.UTF8.GetBytes($": closed: {reason}\n\n"), aborted);
        }
        finally
        {
            subscription.Dispose();
            watch.Dispose();
        }
    }

    private static async Task WriteAsync(HttpResponse response, byte[] bytes, CancellationToken ct)
    {
        await response.Body.WriteAsync(bytes, ct);
        await response.Body.FlushAsync(ct);
    }
}
