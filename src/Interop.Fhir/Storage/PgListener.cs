using Microsoft.Extensions.Logging;
using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>
/// LISTEN on a PostgreSQL channel for as long as the server runs, on a connection of its own: each notification's
/// payload goes to <c>notified</c>; <c>listening</c> runs each time the LISTEN is (re)established (what was sent
/// while the connection was down is not heard). A lost connection is retried every 5 s.
/// </summary>
public static class PgListener
{
    public static async Task Run(NpgsqlDataSource db, string channel, Action<string> notified, Action listening, ILogger log, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = await db.OpenConnectionAsync(ct);
                connection.Notification += (_, e) => notified(e.Payload);
                await using (var listen = new NpgsqlCommand($"listen {channel}", connection)) await listen.ExecuteNonQueryAsync(ct);
                listening();
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
                log.LogWarning(e, "Listening on {Channel} failed; retrying in 5 s", channel);
                try { await Task.Delay(TimeSpan.FromSeconds(5), ct); } catch (OperationCanceledException) { return; }
            }
        }
    }
}
