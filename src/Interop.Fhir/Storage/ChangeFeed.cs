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
public sealed record ChangePage(IReadOnlyList<Change> Changes, long Last);

/// <summary>
/// Reads the change feed in sequence order from any position. A sequence number is taken when a change is written
/// and becomes visible when its transaction commits, so a reader can see 12 before 11. The feed therefore stops a
/// page at the first gap while the gap is young: it ends there until the gap is filled (its transaction commits),
/// until it is known to be final, or until it has stood for Fhir:ChangeSettleSeconds. A reader that keeps its position
/// never misses a change whose transaction commits within that time. The rule is the one Marten's async daemon
/// applies to its high-water mark, evaluated here for the page being read instead of by a daemon polling all the time
/// (about 4% of a core with the server idle, more under load). Subscriptions, $export _since, audit and replication
/// read from here.
/// <para>
/// Known final: the numbers missing below a visible change M were taken before M was, so by transactions already
/// open when M was first seen here (at the database's clock). Once no transaction of this database that started
/// before that moment is still open, each of them has committed — its changes are then visible — or rolled back, and
/// what is still missing never comes: the gap is passed over at the next read, typically within one poll, instead of
/// after the settle time (a refused write — a 409 of a workflow rule — rolls back after taking its number). A session
/// whose start this role cannot see (another role's) counts as open, so the rule only ever waits longer.
/// </para>
/// </summary>
public sealed partial class ChangeFeed(NpgsqlDataSource db, StorageOptions options)
{
    private const string S = StorageSetup.Schema;

    /// <summary>How long a gap in the sequence is waited for before it counts as a rolled-back transaction's.</summary>
    private TimeSpan Settle => TimeSpan.FromSeconds(options.ChangeSettleSeconds);

    /// <summary>Gaps seen: their first missing number → the first visible number after them and when that was seen (database clock).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, (long VisibleAfter, DateTime SeenAt)> _gaps = new();

    public async Task<ChangePage> Read(long after, int count, CancellationToken ct)
    {
        // Numbers below this are final when missing (see the class summary).
        var finalBelow = _gaps.TryGetValue(after + 1, out var gap) && await NoneOpenSince(gap.SeenAt, ct) ? gap.VisibleAfter : 0;
        // Ages are measured by the database's clock, as the events' timestamps are.
        var sql = $"""
            select e.seq_id, clock_timestamp() - e.timestamp > $3, v.resource_type, v.data->>'ResourceId', (v.data->>'VersionId')::int,
                   v.last_updated, (v.data->>'Deleted')::boolean, v.data->>'Method', v.data->>'Json', clock_timestamp()
            from (select seq_id, timestamp, data from {S}.mt_events where seq_id > $1 order by seq_id limit $2) e
            left join {StorageSetup.VersionTable} v on v.id = (e.data->>'Key') || '/' || (e.data->>'Version')
            order by e.seq_id
            """;
        await using var cmd = db.CreateCommand(sql);
        cmd.Parameters.AddWithValue(after);
        cmd.Parameters.AddWithValue(count);
        cmd.Parameters.AddWithValue(Settle);
        var changes = new List<Change>();
        var last = after;
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var sequence = reader.GetInt64(0);
            if (!Passes(sequence, last, reader.GetBoolean(1), finalBelow, reader.GetDateTime(9))) break;
            last = sequence;
            if (reader.IsDBNull(2)) continue; // the version is gone (purged): the number is passed over
            changes.Add(new Change(sequence, new StoredVersion(reader.GetString(2), reader.GetString(3), reader.GetInt32(4),
                reader.GetFieldValue<DateTimeOffset>(5), reader.GetBoolean(6), reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8))));
        }
        return new ChangePage(changes, last);
    }

    /// <summary>
    /// Whether a page goes on past <paramref name="sequence"/>, read after <paramref name="last"/>: yes when it follows
    /// on, or the gap before it is old (<paramref name="old"/>) or known final (below <paramref name="finalBelow"/>); a
    /// young gap ends the page and is remembered with when it was first seen (<paramref name="now"/>, database clock).
    /// </summary>
    private bool Passes(long sequence, long last, bool old, long finalBelow, DateTime now)
    {
        if (sequence == last + 1) return true;
        if (!old && sequence > finalBelow)
        {
            // A young gap: its transaction may still commit. Remember when it was first seen.
            if (_gaps.Count > 1000) _gaps.Clear();
            _gaps.TryAdd(last + 1, (sequence, now));
            return false;
        }
        _gaps.TryRemove(last + 1, out _);
        return true;
    }

    // Whether every transaction of this database that was open at `since` has ended (this session's own aside).
    private async Task<bool> NoneOpenSince(DateTime since, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            select not exists (select 1 from pg_stat_activity
                               where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'
                                 and (state is null or xact_start < $1))
            """);
        cmd.Parameters.AddWithValue(since);
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
