using Hl7.Fhir.Model;
using Interop.Fhir.Formats;
using Interop.Fhir.Indexing;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>
/// This server's search parameters: the fixed ones and every SearchParameter stored in the database, each marked
/// pending until its backfill (<see cref="SearchParamBackfill"/>) has indexed the resources stored before it. Writes
/// read <see cref="Current"/> without waiting; a change is loaded at once by the server that made it (the publish stage
/// awaits <see cref="Reload"/>) and by the others when the database notifies them (migration 11's trigger).
/// </summary>
public sealed class SearchParamCatalog(NpgsqlDataSource db, ILogger<SearchParamCatalog> log)
{
    private const string S = StorageSetup.Schema;
    private readonly SemaphoreSlim _loading = new(1, 1);
    private volatile SearchParams _current = SearchParams.Core;

    public SearchParams Current => _current;

    /// <summary>Reads the stored SearchParameters and their backfill state, and swaps the set.</summary>
    public async Task Reload(CancellationToken ct)
    {
        await _loading.WaitAsync(ct);
        try
        {
            var stored = new List<(SearchParameter, bool)>();
            await using (var cmd = db.CreateCommand(
                $"""
                select r.data->>'Json', coalesce(j.state = 'ready' and j.version = (r.data->>'VersionId')::int, false)
                from {StorageSetup.CurrentTable} r left join {S}.search_param_job j on j.id = r.resource_id
                where r.resource_type = 'SearchParameter' and not r.deleted
                """))
            {
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                    if (FhirSerialization.ParseStored(reader.GetString(0)) is SearchParameter sp) stored.Add((sp, reader.GetBoolean(1)));
            }
            var set = SearchParams.With(stored);
            foreach (var problem in set.Problems) log.LogWarning("Stored search parameter not usable: {Problem}", problem);
            _current = set;
        }
        finally
        {
            _loading.Release();
        }
    }

    /// <summary>A reload in the background (a notification from another server): a failure is logged, the old set stays.</summary>
    public void Changed() => _ = System.Threading.Tasks.Task.Run(async () =>
    {
        try { await Reload(CancellationToken.None); }
        catch (Exception e) { log.LogWarning(e, "Reloading the search parameters failed; the previous set stays in use"); }
    });

    /// <summary>How far each stored SearchParameter's backfill is, by its id: what the CapabilityStatement reports.</summary>
    public async Task<IReadOnlyDictionary<string, BackfillProgress>> Progress(CancellationToken ct)
    {
        var result = new Dictionary<string, BackfillProgress>(StringComparer.Ordinal);
        await using var cmd = db.CreateCommand($"select id, state, indexed, total, finished from {S}.search_param_job");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            result[reader.GetString(0)] = new BackfillProgress(reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3),
                reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4));
        return result;
    }
}

/// <summary>A backfill's state: indexing | ready | removing | removed; resources indexed of the total counted at its start.</summary>
public sealed record BackfillProgress(string State, long Indexed, long Total, DateTimeOffset? Finished);
