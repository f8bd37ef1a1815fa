using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Interop.Fhir.Storage;
using Npgsql;

namespace Interop.Fhir.Audit;

/// <summary>What verifying the access log found: intact with the number of records checked, or the first broken link.</summary>
public sealed record ChainReport(bool Intact, long Checked, int Chains, string? BrokenId = null, string? Expected = null, string? Found = null,
    string? Problem = null, IReadOnlyList<string>? Checkpoints = null);

/// <summary>
/// The tamper evidence of the access log. Every record's hash is SHA-256(previous hash ‖ digest of its content),
/// on one chain per UTC day and lane (16 lanes for writes, which record in their own transactions, and one for the
/// group commit); chain_head holds each chain's last position and hash. Verify recomputes every link, so a record
/// edited, inserted or removed directly in the database breaks its chain. Retention drops whole days and leaves a
/// checkpoint, signed with Audit:SealKey, naming the chains it removed.
/// </summary>
public static class AuditChain
{
    private const string A = AuditRows.Schema;

    public static async Task<ChainReport> Verify(NpgsqlDataSource db, DateOnly? start, DateOnly? end, string? sealKey, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var heads = new List<(DateOnly Day, short Lane, long Pos, byte[] Hash)>();
        await using (var cmd = new NpgsqlCommand(
            $"select day, lane, pos, hash from {A}.chain_head where ($1::date is null or day >= $1) and ($2::date is null or day <= $2) order by day, lane", connection))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)start ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Date });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)end ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Date });
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct)) heads.Add((r.GetFieldValue<DateOnly>(0), r.GetInt16(1), r.GetInt64(2), r.GetFieldValue<byte[]>(3)));
        }
        var checkpoints = await Checkpoints(connection, sealKey, ct);
        if (checkpoints.FirstOrDefault(c => c.StartsWith("ALTERED", StringComparison.Ordinal)) is { } altered)
            return new ChainReport(false, 0, 0, Problem: altered, Checkpoints: checkpoints);
        long checkedCount = 0;
        foreach (var day in heads.GroupBy(h => h.Day))
        {
            var (broken, count) = await VerifyDay(connection, day.Key, day.ToDictionary(h => h.Lane, h => (h.Pos, h.Hash)), ct);
            checkedCount += count;
            if (broken is not null) return broken with { Checked = checkedCount, Chains = heads.Count, Checkpoints = checkpoints };
        }
        // Every record must belong to a chain that was checked: a row inserted on a day or lane without a head is not.
        await using (var count = new NpgsqlCommand(
            $"select count(*) from {A}.event where ($1::date is null or recorded >= $1::date::timestamp at time zone 'UTC') and ($2::date is null or recorded < ($2::date + 1)::timestamp at time zone 'UTC')", connection))
        {
            count.Parameters.Add(new NpgsqlParameter { Value = (object?)start ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Date });
            count.Parameters.Add(new NpgsqlParameter { Value = (object?)end ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Date });
            var all = (long)(await count.ExecuteScalarAsync(ct))!;
            if (all != checkedCount)
                return new ChainReport(false, checkedCount, heads.Count, Problem: $"{all - checkedCount} record(s) belong to no chain: inserted directly into the database.", Checkpoints: checkpoints);
        }
        return new ChainReport(true, checkedCount, heads.Count, Checkpoints: checkpoints);
    }

    // One day's records in chain order (lane, then position): every link recomputed, every chain ending at its head.
    private static async Task<(ChainReport? Broken, long Count)> VerifyDay(NpgsqlConnection connection, DateOnly day,
        Dictionary<short, (long Pos, byte[] Hash)> heads, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"""
            select {AuditRows.Columns} from {A}.event where recorded >= $1 and recorded < $2 order by lane, pos, id
            """, connection) { CommandTimeout = 0 };
        var from = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        cmd.Parameters.AddWithValue(from);
        cmd.Parameters.AddWithValue(from.AddDays(1));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        short? lane = null;
        var hash = AuditRow.Genesis;
        long pos = 0, count = 0;
        string? lastId = null;
        var seen = new HashSet<short>();
        string Where(short l) => $"day {day:yyyy-MM-dd}, lane {l}";
        ChainReport? End(short l) => heads.TryGetValue(l, out var head) && (pos != head.Pos || !hash.AsSpan().SequenceEqual(head.Hash))
            ? new ChainReport(false, 0, 0, lastId, $"position {head.Pos} ({Convert.ToHexStringLower(head.Hash)})", $"position {pos} ({Convert.ToHexStringLower(hash)})",
                $"The chain ends before its recorded head: {head.Pos - pos} record(s) removed at its end ({Where(l)}).")
            : null;
        while (await r.ReadAsync(ct))
        {
            var (row, rowLane, rowPos, found) = AuditRows.Read(r);
            if (rowLane != lane)
            {
                if (lane is { } previous && End(previous) is { } ended) return (ended, count);
                if (!heads.ContainsKey(rowLane))
                    return (new ChainReport(false, 0, 0, row.Id.ToString("D"), null, null,
                        $"Records on a chain that has no head ({Where(rowLane)}): inserted directly into the database."), count);
                (lane, hash, pos, lastId) = (rowLane, AuditRow.Genesis, 0, null);
                seen.Add(rowLane);
            }
            count++;
            var id = row.Id.ToString("D");
            if (rowPos != pos + 1)
                return (new ChainReport(false, 0, 0, id, $"position {pos + 1}", $"position {rowPos}",
                    rowPos > pos + 1 ? $"{rowPos - pos - 1} record(s) removed before this one ({Where(rowLane)})." : $"A record was inserted at an existing position ({Where(rowLane)})."), count);
            var expected = AuditRow.Link(hash, row.Digest());
            if (!expected.AsSpan().SequenceEqual(found))
                return (new ChainReport(false, 0, 0, id, Convert.ToHexStringLower(expected), Convert.ToHexStringLower(found),
                    $"The record's content or hash was changed ({Where(rowLane)})."), count);
            (hash, pos, lastId) = (found, rowPos, id);
        }
        if (lane is { } last && End(last) is { } lastEnded) return (lastEnded, count);
        // A chain whose records are all gone.
        foreach (var (l, head) in heads)
            if (!seen.Contains(l) && head.Pos > 0)
                return (new ChainReport(false, 0, 0, null, $"position {head.Pos}", "no records",
                    $"All {head.Pos} record(s) of the chain were removed ({Where(l)})."), count);
        return (null, count);
    }

    // Each checkpoint, described; a signature that does not match its content marks it ALTERED.
    private static async Task<List<string>> Checkpoints(NpgsqlConnection connection, string? sealKey, CancellationToken ct)
    {
        var list = new List<string>();
        await using var cmd = new NpgsqlCommand($"select before, made, removed, heads::text, signature from {A}.checkpoint order by before", connection);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            var (before, made, removed, heads, signature) = (r.GetFieldValue<DateTimeOffset>(0), r.GetFieldValue<DateTimeOffset>(1), r.GetInt64(2), r.GetString(3), r.GetString(4));
            var state = sealKey is null ? "signature not checked (no Audit:SealKey)"
                : Sign(sealKey, before, removed, heads) == signature ? "signature valid" : null;
            list.Add(state is null
                ? $"ALTERED: the checkpoint for records before {before:yyyy-MM-dd} does not match its signature."
                : $"records before {before:yyyy-MM-dd} removed by retention at {made:O}: {removed} record(s); {state}");
        }
        return list;
    }

    private static string Sign(string key, DateTimeOffset before, long removed, string heads) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key),
            Encoding.UTF8.GetBytes($"{before.UtcTicks}\u001f{removed}\u001f{Canonical(heads)}")));

    // jsonb's text is canonical already; parsing and writing again makes the signature independent of whitespace.
    private static string Canonical(string json) => JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement);

    /// <summary>
    /// Retention: removes the whole days before <paramref name="before"/> (their partitions and chains) in one
    /// transaction, leaving a signed checkpoint of the chains it removed. Needs the schema owner's rights.
    /// </summary>
    public static async Task<(int Days, long Removed)> Purge(NpgsqlDataSource db, DateOnly before, string sealKey, CancellationToken ct)
    {
        if (before > DateOnly.FromDateTime(DateTime.UtcNow)) throw new ArgumentException("purge --before must not be in the future: today's records are still being written.");
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var until = new DateTimeOffset(before.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        string heads;
        long removed;
        await using (var cmd = new NpgsqlCommand($"""
            select coalesce(jsonb_agg(jsonb_build_object('day', day, 'lane', lane, 'pos', pos, 'hash', encode(hash, 'hex')) order by day, lane), '[]')::text,
                   (select count(*) from {A}.event where recorded < $2)
            from {A}.chain_head where day < $1
            """, connection, tx) { CommandTimeout = 0 })
        {
            cmd.Parameters.AddWithValue(before);
            cmd.Parameters.AddWithValue(until);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            await r.ReadAsync(ct);
            (heads, removed) = (r.GetString(0), r.GetInt64(1));
        }
        var partitions = new List<string>();
        await using (var cmd = new NpgsqlCommand($"""
            select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_namespace n on n.oid = c.relnamespace
            where i.inhparent = '{A}.event'::regclass and c.relname ~ '^event_[0-9]+$' and to_date(substr(c.relname, 7), 'YYYYMMDD') < $1
            order by c.relname
            """, connection, tx))
        {
            cmd.Parameters.AddWithValue(before);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct)) partitions.Add(r.GetString(0));
        }
        await using (var cmd = new NpgsqlCommand($"""
            insert into {A}.checkpoint (before, removed, heads, signature) values ($1, $2, $3::jsonb, $4)
            on conflict (before) do nothing
            """, connection, tx))
        {
            cmd.Parameters.AddWithValue(until);
            cmd.Parameters.AddWithValue(removed);
            cmd.Parameters.AddWithValue(heads);
            cmd.Parameters.AddWithValue(Sign(sealKey, until, removed, heads));
            await cmd.ExecuteNonQueryAsync(ct);
        }
        foreach (var partition in partitions)
        {
            await using var drop = new NpgsqlCommand($"drop table {A}.\"{partition}\"", connection, tx);
            await drop.ExecuteNonQueryAsync(ct);
        }
        await using (var cmd = new NpgsqlCommand($"delete from {A}.chain_head where day < $1", connection, tx))
        {
            cmd.Parameters.AddWithValue(before);
            await cmd.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
        return (partitions.Count, removed);
    }
}
