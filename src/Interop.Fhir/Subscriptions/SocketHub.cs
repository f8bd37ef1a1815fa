using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Interop.Fhir.Subscriptions;

/// <summary>
/// The websockets bound on this server, by subscription id. A notification for a websocket subscription reaches every
/// server through PostgreSQL (SocketListener); each pings its own sockets bound to that subscription.
/// </summary>
public sealed class SocketHub(ILogger<SocketHub> log)
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<Guid, Func<string, Task>>> _bound = new(StringComparer.Ordinal);

    /// <summary>Binds a socket's sender to a subscription until the returned handle is disposed.</summary>
    public IDisposable Bind(string subscriptionId, Func<string, Task> send)
    {
        var key = Guid.NewGuid();
        _bound.GetOrAdd(subscriptionId, _ => new()).TryAdd(key, send);
        return new Binding(() =>
        {
            if (_bound.TryGetValue(subscriptionId, out var sockets)) sockets.TryRemove(key, out _);
        });
    }

    /// <summary>Sends <c>ping &lt;id&gt;</c> to every socket bound to the subscription (a failed socket is its endpoint's to close).</summary>
    public async Task Ping(string subscriptionId)
    {
        if (!_bound.TryGetValue(subscriptionId, out var sockets)) return;
        foreach (var send in sockets.Values)
        {
            try
            {
                await send("ping " + subscriptionId);
            }
            catch (Exception e)
            {
                log.LogDebug(e, "A websocket bound to Subscription/{Id} could not be pinged", subscriptionId);
            }
        }
    }

    private sealed class Binding(Action release) : IDisposable
    {
        public void Dispose() => release();
    }
}
