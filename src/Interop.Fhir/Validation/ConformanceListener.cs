using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Interop.Fhir.Validation;

/// <summary>
/// Hears from the database when any server stores a StructureDefinition, ValueSet or CodeSystem (a trigger notifies
/// <see cref="Channel"/> at commit: migration 7, in Storage/Migrations) and makes this server's conformance set stale: an uploaded profile is
/// used on every instance at once, without a restart. While the connection is down nothing is heard, so the set is
/// made stale again when it comes back.
/// </summary>
public sealed class ConformanceListener(NpgsqlDataSource db, Conformance conformance, ILogger<ConformanceListener> log) : BackgroundService
{
    public const string Channel = "interop_conformance";

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = await db.OpenConnectionAsync(ct);
                connection.Notification += (_, _) => conformance.Invalidate();
                await using (var listen = new NpgsqlCommand($"listen {Channel}", connection)) await listen.ExecuteNonQueryAsync(ct);
                conformance.Invalidate();
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
                log.LogWarning(e, "Listening for conformance changes failed; retrying in 5 s");
                try { await Task.Delay(TimeSpan.FromSeconds(5), ct); } catch (OperationCanceledException) { return; }
            }
        }
    }
}
