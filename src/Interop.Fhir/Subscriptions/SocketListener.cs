using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Interop.Fhir.Storage;
using Npgsql;

namespace Interop.Fhir.Subscriptions;

/// <summary>
/// Hears the dispatcher's websocket notifications (pg_notify on <see cref="SubscriptionStore.Channel"/>, sent when
/// the dispatcher commits, whichever server leads it) and pings this server's sockets bound to the subscription.
/// While the connection is down nothing is heard: websocket notifications are live only, as in R4.
/// </summary>
public sealed class SocketListener(NpgsqlDataSource db, SocketHub hub, ILogger<SocketListener> log) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken ct) =>
        PgListener.Run(db, SubscriptionStore.Channel, payload => _ = hub.Ping(payload), () => { }, log, ct);
}
