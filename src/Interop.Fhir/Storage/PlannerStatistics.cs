using Microsoft.Extensions.Logging;
using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>
/// Keeps PostgreSQL's statistics of the resource and index tables in step with bulk writes. Searches join key sets
/// from the index tables; planned from statistics taken before a load (or from none), PostgreSQL takes a 30,000-row
/// key set for one row and re-runs it per candidate in a nested loop: a 5 ms search becomes a 30 s timeout. Autovacuum
/// analyzes eventually, up to a naptime per database later; this analyzes as soon as the resources written since the
/// last analyze reach 500 and the number stored then (the data doubled: an analyze of the index tables takes seconds,
/// so a load from empty to 1M resources pays for 11 of them, and autovacuum keeps the finer steps), inline for a bulk write (a bundle, an import chunk) so that the
/// next search sees the data it loaded, in the background for a single write. One refresh runs at a time; the server's
/// role runs it through the owner's security-definer function fhir.refresh_statistics().
/// </summary>
public sealed class PlannerStatistics(NpgsqlDataSource db, ILogger<PlannerStatistics> log)
{
    private const string S = StorageSetup.Schema;
    public const int BulkWrite = 100;

    private readonly SemaphoreSlim _running = new(1, 1);
    private long _written;
    private double _stored = -1; // resources at the last analyze; -1 until read

    /// <summary>Migration 6: the function that analyzes the search tables and answers how many resources there are.</summary>
    public const string Ddl = $"""
        create or replace function {S}.refresh_statistics() returns real language plpgsql security definer
            set search_path = pg_catalog, pg_temp as $f$
        begin
            analyze {S}.mt_doc_resourcedoc, {S}.ix_string, {S}.ix_token, {S}.ix_date, {S}.ix_number, {S}.ix_quantity,
                {S}.ix_reference, {S}.ix_uri, {S}.ix_composite, {S}.ix_text, {S}.care_relationship, {S}.consent_denial,
                {S}.measure_resident, {S}.measure_encounter, {S}.measure_episode;
            return (select reltuples from pg_class where oid = '{S}.mt_doc_resourcedoc'::regclass);
        end $f$;
        revoke all on function {S}.refresh_statistics() from public;
        """;

    public static async Task Grant(NpgsqlDataSource db, string role, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"grant execute on function {S}.refresh_statistics() to {role}");
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Counts <paramref name="resources"/> committed; analyzes when they tip the balance.</summary>
    public async Task Written(int resources, CancellationToken ct)
    {
        var pending = Interlocked.Add(ref _written, resources);
        if (pending < Math.Max(500, _stored)) return;
        if (resources >= BulkWrite) await Refresh(ct);
        else _ = Task.Run(() => Refresh(CancellationToken.None), CancellationToken.None);
    }

    private async Task Refresh(CancellationToken ct)
    {
        if (!await _running.WaitAsync(0, CancellationToken.None)) return; // one is running; the next write past the mark tries again
        try
        {
            var pending = Interlocked.Read(ref _written);
            await using var connection = await db.OpenConnectionAsync(ct);
            if (_stored < 0)
            {
                // First time: a server started on a large database counts from what is stored, without analyzing it.
                await using var count = new NpgsqlCommand($"select greatest(reltuples, 0) from pg_class where oid = '{S}.mt_doc_resourcedoc'::regclass", connection);
                _stored = Convert.ToDouble(await count.ExecuteScalarAsync(ct));
                if (pending < Math.Max(500, _stored)) return;
            }
            await using var cmd = new NpgsqlCommand($"select {S}.refresh_statistics()", connection) { CommandTimeout = 0 };
            _stored = Convert.ToDouble(await cmd.ExecuteScalarAsync(ct));
            Interlocked.Add(ref _written, -pending);
        }
        catch (Exception e)
        {
            // The write is committed and its answer must say so: stale statistics slow searches until autovacuum
            // analyzes, they lose nothing.
            if (e is not OperationCanceledException) log.LogWarning(e, "Refreshing the planner's statistics failed; autovacuum will analyze later");
        }
        finally
        {
            _running.Release();
        }
    }
}
