using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Interop.Fhir.Subscriptions;

/// <summary>
/// Hears the dispatcher's websocket notifications (pg_notify on <see cref="SubscriptionStore.Channel"/>, sent when
/// the dispatcher commits, whichever server leads it) and pings this server's sockets bound to the subscription.
/// While the connection is down nothing is heard: websocket notifications are live only, as in R4.
/// </summary>
public sealed class SocketListener(NpgsqlDataSource db, SocketHub hub, ILogger<SocketListener> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = await db.OpenConnectionAsync(ct);
                connection.Notification += (_, e) => _ = hub.Ping(e.Payload);
                await using (var listen = new NpgsqlCommand($"listen {SubscriptionStore.Channel}", connection)) await listen.ExecuteNonQueryAsync(ct);
                try
                {
                    while (true) await connection.WaitAsync(ct);
                }
                finally
                {
                    // The pool keeps session state (no reset on close): the connection goes back without the LISTEN.
                    if (connection.State == System.Data.ConnectionState.Open)
                        await using (var unlisten = new NpgsqlCommand("unlisten *", connection)) await unlisten.ExecuteNonQueryAsync(CancellationToken.None);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                log.LogWarning(e, "Listening for websocket notifications failed; retrying in 5 s");
                try { await Task.Delay(TimeSpan.FromSeconds(5), ct); } catch (OperationCanceledException) { return; }
            }
        }
    }
}
