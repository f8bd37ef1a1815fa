using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>
/// The change feed as an institution may read it: the same sequence, in the same order and pages of at most
/// <c>count</c> changes, holding only changes to resources the access policy lets it see now (care relationship and
/// consent, as a search would). Each change is judged by its resource's current state, as history is: every version
/// of a resource it may see now, none of one it may not. A resource deleted since has no index left to judge, so
/// its last live version is (<see cref="InstitutionAccess.DeletedCondition"/>): its changes, the deletion included,
/// are shown only if the institution wrote it or deleted it, or cares now for every resident it referred to.
/// <para>
/// The page ends where the whole feed's would end, at the first young gap (see the class summary), and the
/// filter runs in SQL over at most <see cref="Scan"/> numbers after the position, so a page costs at most that whatever
/// the institution's share of the changes. It looks at <see cref="FirstScan"/> numbers first and at the whole Scan
/// only when those did not fill the page. The position returned is where the scan ended, which counts changes it
/// may not see: the endpoint hands it out sealed (Rest/ChangeEndpoints), never as a number.
/// </para>
/// </summary>
public sealed partial class ChangeFeed
{
    /// <summary>Sequence numbers looked at per page of an institution's feed at most (visible or not).</summary>
    public const int Scan = 20_000;

    /// <summary>
    /// Numbers looked at first: finding where a page may end costs a read of each number (about 25 ms for the whole
    /// Scan at 49k resources), and an institution with a few percent of the changes fills a page of 50 from 2,000.
    /// </summary>
    public const int FirstScan = 2_000;

    public async Task<ChangePage> Read(long after, int count, InstitutionAccess policy, CancellationToken ct)
    {
        var (page, more) = await Read(after, count, policy, FirstScan, ct);
        // Not full, though the whole feed goes on past the first scan: look at the whole Scan.
        return page.Changes.Count < count && more ? (await Read(after, count, policy, Scan, ct)).Page : page;
    }

    private async Task<(ChangePage Page, bool More)> Read(long after, int count, InstitutionAccess policy, int scan, CancellationToken ct)
    {
        var (settled, more) = await Settled(after, scan, ct);
        if (settled == after) return (new ChangePage([], after), more);
        var args = new List<object> { after, settled, count };
        string Add(object value) { args.Add(value); return "$" + args.Count; }
        var live = policy.Condition("cur.resource_type", "cur.rid", "cur.data", Add);
        var deleted = policy.DeletedCondition("cur.resource_type", "cur.rid", "cur.data", "lv.data", Add);
        var sql = $"""
            select e.seq_id, v.resource_type, v.data->>'ResourceId', (v.data->>'VersionId')::int,
                   v.last_updated, (v.data->>'Deleted')::boolean, v.data->>'Method', v.data->>'Json'
            from {S}.mt_events e
            join {StorageSetup.VersionTable} v on v.id = (e.data->>'Key') || '/' || (e.data->>'Version')
            join {StorageSetup.CurrentTable} cur on cur.id = e.data->>'Key'
            left join {StorageSetup.VersionTable} lv on lv.id = case when cur.deleted then cur.id || '/' || ((cur.data->>'VersionId')::int - 1) end
            where e.seq_id > $1 and e.seq_id <= $2 and case when cur.deleted then {deleted} else {live} end
            order by e.seq_id limit $3
            """;
        await using var cmd = db.CreateCommand(sql);
        foreach (var value in args) cmd.Parameters.AddWithValue(value);
        var changes = new List<Change>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            changes.Add(new Change(reader.GetInt64(0), new StoredVersion(reader.GetString(1), reader.GetString(2), reader.GetInt32(3),
                reader.GetFieldValue<DateTimeOffset>(4), reader.GetBoolean(5), reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7))));
        // A full page ends at its last change; a short one has looked at everything up to where the whole feed stops.
        return (new ChangePage(changes, changes.Count == count ? changes[^1].Sequence : settled), more);
    }

    // Where a page of the whole feed from `after` would end if it were `scan` long: the rule of Read, on numbers alone;
    // and whether the feed may go on past it (all `scan` numbers passed, no young gap met).
    private async Task<(long Last, bool More)> Settled(long after, int scan, CancellationToken ct)
    {
        var finalBelow = _gaps.TryGetValue(after + 1, out var gap) && await NoneOpenSince(gap.SeenAt, ct) ? gap.VisibleAfter : 0;
        await using var cmd = db.CreateCommand(
            $"select seq_id, clock_timestamp() - timestamp > $3, clock_timestamp() from {S}.mt_events where seq_id > $1 order by seq_id limit $2");
        cmd.Parameters.AddWithValue(after);
        cmd.Parameters.AddWithValue(scan);
        cmd.Parameters.AddWithValue(Settle);
        var (last, passed) = (after, 0);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var sequence = reader.GetInt64(0);
            if (!Passes(sequence, last, reader.GetBoolean(1), finalBelow, reader.GetDateTime(2))) return (last, false);
            (last, passed) = (sequence, passed + 1);
        }
        return (last, passed == scan);
    }
}
