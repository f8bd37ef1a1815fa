using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>
/// One change to one resource, appended to Marten's event store in the same transaction as the version it
/// describes (the changes of one transaction form one stream). The event store's global sequence is the change feed.
/// </summary>
public sealed record ResourceChanged(string Key, int Version, string Method, string Writer);

/// <summary>One change as the feed reports it: its sequence number, the change, and the version's JSON (null for a deletion).</summary>
public sealed record Change(long Sequence, StoredVersion Version);

/// <summary>A page of the feed; <see cref="Last"/> is where the next page starts (the position to keep).</summary>
public sealed record ChangePage(IReadOnlyList<Change> Changes, long Last, long HighWater);

/// <summary>
/// Reads the change feed in sequence order from any position. Only changes up to the high-water mark are read:
/// the sequence number below which every number is either committed or abandoned (Marten's async daemon tracks
/// it, waiting out gaps left by transactions still in flight), so a reader that keeps its position never misses a
/// change that commits late with a lower number. Subscriptions, $export _since, audit and replication read from here.
/// </summary>
public sealed class ChangeFeed(NpgsqlDataSource db)
{
    private const string S = StorageSetup.Schema;

    public async Task<ChangePage> Read(long after, int count, CancellationToken ct)
    {
        var sql = $"""
            with mark as (select coalesce((select last_seq_id from {S}.mt_event_progression where name = '{ChangeSubscription.FeedName}:All'), 0) as hw)
            select e.seq_id, v.resource_type, v.data->>'ResourceId', (v.data->>'VersionId')::int, v.last_updated,
                   (v.data->>'Deleted')::boolean, v.data->>'Method', v.data->>'Json', mark.hw
            from mark left join {S}.mt_events e on e.seq_id > $1 and e.seq_id <= mark.hw
            left join {StorageSetup.VersionTable} v on v.id = (e.data->>'Key') || '/' || (e.data->>'Version')
            order by e.seq_id limit $2
            """;
        await using var cmd = db.CreateCommand(sql);
        cmd.Parameters.AddWithValue(after);
        cmd.Parameters.AddWithValue(count);
        var changes = new List<Change>();
        long highWater = 0;
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            highWater = reader.GetInt64(8);
            if (reader.IsDBNull(0) || reader.IsDBNull(1)) continue;
            changes.Add(new Change(reader.GetInt64(0), new StoredVersion(reader.GetString(1), reader.GetString(2), reader.GetInt32(3),
                reader.GetFieldValue<DateTimeOffset>(4), reader.GetBoolean(5), reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7))));
        }
        return new ChangePage(changes, changes.Count > 0 ? changes[^1].Sequence : after, highWater);
    }
}
