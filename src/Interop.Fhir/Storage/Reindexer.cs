using Interop.Fhir.Indexing;
using Interop.Fhir.Formats;
using Marten;
using Marten.Services;
using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>
/// Rebuilds the search index of every current resource (after search parameter definitions change, or for
/// data written before the index existed). Batches of resources, each batch one transaction. The same batches, for
/// one parameter only, backfill a SearchParameter stored at run time (<see cref="SearchParamBackfill"/>).
/// </summary>
public sealed class Reindexer(IDocumentStore store, NpgsqlDataSource db, SearchParamCatalog catalog)
{
    public async Task<long> Run(int batchSize, Action<long> progress, CancellationToken ct)
    {
        await catalog.Reload(ct); // the parameters stored at run time are indexed too
        var known = catalog.Current;
        await using (var purge = db.CreateCommand(string.Join(";", SearchSchema.Tables.Concat(MeasureFacts.Tables).Select(t =>
            $"delete from {StorageSetup.Schema}.{t} x using {StorageSetup.CurrentTable} r where r.rid = x.rid and r.deleted"))))
            await purge.ExecuteNonQueryAsync(ct);

        var last = "";
        long done = 0;
        while (true)
        {
            var batch = new List<(string Key, string Type, string Json)>();
            await using (var cmd = db.CreateCommand(
                $"select id, resource_type, data->>'Json' from {StorageSetup.CurrentTable} where not deleted and id > $1 order by id limit $2"))
            {
                cmd.Parameters.AddWithValue(last);
                cmd.Parameters.AddWithValue(batchSize);
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct)) batch.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
            }
            if (batch.Count == 0) return done;
            await using var session = store.LightweightSession();
            var index = new IndexQueue();
            foreach (var (key, type, json) in batch)
            {
                var resource = FhirSerialization.ParseStored(json);
                index.Replace(key, type, IndexExtractor.Extract(resource, json, known), existed: true, resource);
            }
            index.Flush(session);
            await session.SaveChangesAsync(ct);
            done += batch.Count;
            last = batch[^1].Key;
            progress(done);
        }
    }

    /// <summary>
    /// Indexes <paramref name="param"/> for the next batch of current <c>param.Resource</c> resources after
    /// <paramref name="afterRid"/> (by compact key; with <paramref name="since"/>, only those written since then), in one
    /// transaction that holds a share lock on the rows it reads, so a concurrent write of one of them cannot be
    /// overwritten by a stale index. Rows a writer holds right now are skipped: their writer indexes them, and the
    /// backfill's last pass (what was written since it began) reads them again. Returns how many were read, and the
    /// compact key to continue after (null when there are no more).
    /// </summary>
    public async Task<(int Read, long? Next)> IndexParameter(SearchParam param, long afterRid, DateTimeOffset? since, int batchSize, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var candidates = new List<long>();
        await using (var cmd = new NpgsqlCommand(
            $"select rid from {StorageSetup.CurrentTable} where resource_type = $1 and rid > $2 and not deleted {(since is null ? "" : "and last_updated >= $4")} order by rid limit $3", connection))
        {
            cmd.Parameters.AddWithValue(param.Resource);
            cmd.Parameters.AddWithValue(afterRid);
            cmd.Parameters.AddWithValue(batchSize);
            if (since is { } from) cmd.Parameters.AddWithValue(from);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) candidates.Add(reader.GetInt64(0));
        }
        if (candidates.Count == 0) return (0, null);
        var rows = new List<(string Key, string Json)>();
        await using (var cmd = new NpgsqlCommand(
            $"select id, data->>'Json' from {StorageSetup.CurrentTable} where rid = any($1) and not deleted order by rid for share skip locked", connection))
        {
            cmd.Parameters.AddWithValue(candidates.ToArray());
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) rows.Add((reader.GetString(0), reader.GetString(1)));
        }
        await using (var session = store.LightweightSession(SessionOptions.ForTransaction(tx)))
        {
            var known = new[] { param.Name };
            var table = SearchSchema.Tables[(int)param.Table];
            var only = SearchParams.Only(param);
            foreach (var (key, json) in rows)
                IndexWriter.QueueParameter(session, key, param.Resource, table, param.Name, IndexExtractor.Extract(FhirSerialization.ParseStored(json), known, only));
            await session.SaveChangesAsync(ct);
        }
        await tx.CommitAsync(ct);
        return (rows.Count, candidates[^1]);
    }

    /// <summary>
    /// Removes the index rows of a parameter that is no longer defined for <paramref name="type"/> (its SearchParameter was
    /// deleted or changed), or, with <paramref name="keep"/>, those outside the table its current type uses (a changed type).
    /// </summary>
    public async Task<int> RemoveParameter(string type, string name, CancellationToken ct, string? keep = null)
    {
        var removed = 0;
        foreach (var table in SearchSchema.Tables.Where(t => t != "ix_text" && t != keep))
        {
            await using var cmd = db.CreateCommand($"delete from {StorageSetup.Schema}.{table} where rtype = $1 and param = $2");
            cmd.Parameters.AddWithValue(type);
            cmd.Parameters.AddWithValue(name);
            cmd.CommandTimeout = 0;
            removed += await cmd.ExecuteNonQueryAsync(ct);
        }
        return removed;
    }
}
