using Interop.Fhir.Indexing;
using Interop.Fhir.Formats;
using Marten;
using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>
/// Rebuilds the search index of every current resource (after search parameter definitions change, or for
/// data written before the index existed). Batches of resources, each batch one transaction.
/// </summary>
public sealed class Reindexer(IDocumentStore store, NpgsqlDataSource db)
{
    public async Task<long> Run(int batchSize, Action<long> progress, CancellationToken ct)
    {
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
            foreach (var (key, type, json) in batch)
            {
                var resource = FhirSerialization.ParseStored(json);
                IndexWriter.QueueReplace(session, key, type, IndexExtractor.Extract(resource, json), existed: true, resource);
            }
            await session.SaveChangesAsync(ct);
            done += batch.Count;
            last = batch[^1].Key;
            progress(done);
        }
    }
}
