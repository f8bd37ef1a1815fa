using System.Threading.Channels;
using Interop.Fhir.Errors;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Interop.Fhir.Audit;

/// <summary>Settings of the access log ("Audit" configuration section).</summary>
public sealed class AuditOptions
{
    /// <summary>Off only to measure what the log costs (bench); a server in use keeps it on.</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>The source.site of every record: this server within the group.</summary>
    public string Site { get; set; } = "interop";
    /// <summary>The most records one group commit writes.</summary>
    public int MaxBatch { get; set; } = 1000;
    /// <summary>Group commits in flight at once (each on a lane of its own). One makes the biggest batches.</summary>
    public int Committers { get; set; } = 1;
    /// <summary>
    /// How long a group commit may wait for the callers its previous commit answered to send their next records
    /// (0, the default: never wait). The wait ends as soon as the batch is as large as the previous one, so a lone
    /// caller never waits. Measured (README, the access log's benchmark): it pays with many concurrent callers on a
    /// loaded machine and costs throughput at 16 callers on a quiet one, hence off unless a deployment measures it.
    /// </summary>
    public double GatherMilliseconds { get; set; }
    /// <summary>The key that signs retention checkpoints (HMAC-SHA256); without it, purge refuses to run.</summary>
    public string? SealKey { get; set; }
}

/// <summary>
/// The access log's writer. Writes record themselves in their own transaction (<see cref="For"/>); everything
/// else — reads, searches, refusals, logins — is appended here and waits until its record is durable. Concurrent
/// records are written together by one loop, in one transaction per batch (group commit), linked on the
/// commit lane's hash chain. A batch that fails fails every request waiting on it (503): nothing goes unlogged.
/// </summary>
public sealed class AuditLog : IAsyncDisposable
{
    private readonly NpgsqlDataSource _db;
    private readonly ILogger<AuditLog> _log;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = false });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _loops;
    private Task _partitions = Task.CompletedTask;

    public AuditOptions Options { get; }

    public AuditLog(NpgsqlDataSource db, AuditOptions options, ILogger<AuditLog> log)
    {
        (_db, Options, _log) = (db, options, log);
        _loops = options.Enabled ? Enumerable.Range(0, Math.Max(1, options.Committers)).Select(_ => Task.Run(Loop)).ToArray() : [];
    }

    public bool Enabled => Options.Enabled;

    private sealed record Pending(AuditRow Row, TaskCompletionSource Done);

    /// <summary>The record writer for the changes of a call with <paramref name="context"/> (null when the log is off).</summary>
    public IChangeAudit? For(RequestContext context) => Enabled ? new ChangeAudit(AuditWho.Of(context), Options.Site) : null;

    /// <summary>Appends a record; completes when it is committed. Throws 503 when it cannot be written.</summary>
    public async Task Append(AuditRow row, CancellationToken ct = default)
    {
        var pending = new Pending(row, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending)) throw Unwritable();
        // The client leaving does not cancel the record: the access happened.
        await pending.Done.Task;
    }

    /// <summary>Records one event of this server (logins, tokens, registrations) outside any request's pipeline.</summary>
    public Task Record(AuditWho who, AuditWhat what) => Enabled ? Append(AuditEvents.Build(who, what, Options.Site)) : Task.CompletedTask;

    private static FhirException Unwritable() => AuditRows.Unwritable();

    private async Task Loop()
    {
        await using var lane = new Lane((short)(AuditRows.WriteLanes + Random.Shared.Next(AuditRows.CommitLanes)));
        var batch = new List<Pending>(Options.MaxBatch);
        var reader = _queue.Reader;
        try
        {
            var previous = 0;
            while (await reader.WaitToReadAsync(_stop.Token))
            {
                while (batch.Count < Options.MaxBatch && reader.TryRead(out var p)) batch.Add(p);
                if (batch.Count < previous) await Gather(batch, previous);
                previous = batch.Count;
                try
                {
                    await Commit(batch, lane);
                    foreach (var p in batch) p.Done.TrySetResult();
                }
                catch (Exception e) when (e is not OperationCanceledException || !_stop.IsCancellationRequested)
                {
                    await lane.DisposeAsync(); // a broken or confused connection is not reused
                    _log.LogError("The access log could not write {Count} records: {Error}", batch.Count, DatabaseErrors.Describe(e));
                    // One record the database refuses must not fail the others of its batch: each is tried alone.
                    foreach (var p in batch)
                    {
                        try
                        {
                            if (batch.Count > 1) await Commit([p], lane);
                            if (batch.Count > 1) p.Done.TrySetResult(); else p.Done.TrySetException(Unwritable());
                        }
                        catch (Exception)
                        {
                            p.Done.TrySetException(Unwritable());
                        }
                    }
                }
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        // Stopping: what was not written fails (503) rather than waiting for ever.
        foreach (var p in batch) p.Done.TrySetException(Unwritable());
        while (reader.TryRead(out var left)) left.Done.TrySetException(Unwritable());
    }

    // The callers the last commit answered are about to send their next records: every commit costs a flush of the
    // write-ahead log to disk (milliseconds), so waiting a moment for them writes the same records with fewer flushes.
    // Without this the batches alternate between a few records and many, and each record waits for two flushes.
    private async Task Gather(List<Pending> batch, int previous)
    {
        if (Options.GatherMilliseconds <= 0) return;
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        wait.CancelAfter(TimeSpan.FromMilliseconds(Options.GatherMilliseconds));
        var reader = _queue.Reader;
        try
        {
            while (batch.Count < previous && batch.Count < Options.MaxBatch && await reader.WaitToReadAsync(wait.Token))
                while (batch.Count < Options.MaxBatch && reader.TryRead(out var p)) batch.Add(p);
        }
        catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>A group-commit loop's chain: its lane, and the head as this loop last wrote it (per day).</summary>
    private sealed class Lane(short id) : IAsyncDisposable
    {
        public short Id { get; } = id;
        /// <summary>The loop's own connection, kept open: its statements stay prepared and its session warm.</summary>
        public NpgsqlConnection? Connection { get; set; }

        public async ValueTask DisposeAsync()
        {
            if (Connection is not null) await Connection.DisposeAsync();
            Connection = null;
        }
        public DateOnly Day { get; set; }
        public long Pos { get; set; } = -1; // unknown: read from chain_head first
        public byte[] Hash { get; set; } = AuditRow.Genesis;
    }

    // One statement per day (a batch spans two at midnight): link the records in order from the head this loop
    // knows, move the head only if it is still there, and insert them — one round trip, one transaction. If the
    // head moved (another server took the same lane), nothing is written: read the head and link again.
    private async Task Commit(List<Pending> batch, Lane lane)
    {
        if (lane.Connection is not { State: System.Data.ConnectionState.Open }) lane.Connection = await _db.OpenConnectionAsync(_stop.Token);
        var connection = lane.Connection;
        foreach (var day in batch.GroupBy(p => p.Row.Day))
        {
            var rows = day.Select(p => p.Row).ToList();
            for (var attempt = 0; ; attempt++)
            {
                if (lane.Pos < 0 || lane.Day != day.Key) await ReadHead(connection, lane, day.Key);
                var (pos, hash) = (lane.Pos, lane.Hash);
                var columns = new Columns(rows.Count);
                for (var i = 0; i < rows.Count; i++)
                {
                    hash = AuditRow.Link(hash, rows[i].Digest());
                    columns.Add(i, rows[i], ++pos, hash);
                }
                await using var cmd = columns.Insert(connection, day.Key, lane.Id, lane.Pos, pos, hash);
                await cmd.PrepareAsync(_stop.Token);
                if (await cmd.ExecuteNonQueryAsync(_stop.Token) == rows.Count)
                {
                    (lane.Pos, lane.Hash) = (pos, hash);
                    break;
                }
                lane.Pos = -1;
                if (attempt == 2) throw new InvalidOperationException($"The access log's lane {lane.Id} keeps moving under this server.");
            }
        }
    }

    private async Task ReadHead(NpgsqlConnection connection, Lane lane, DateOnly day)
    {
        await using var cmd = new NpgsqlCommand($"""
            with made as (insert into {AuditRows.Schema}.chain_head (day, lane, pos, hash) values ($1, $2, 0, $3) on conflict do nothing returning pos, hash)
            select pos, hash from made union all select pos, hash from {AuditRows.Schema}.chain_head where day = $1 and lane = $2
            """, connection);
        cmd.Parameters.AddWithValue(day);
        cmd.Parameters.AddWithValue(lane.Id);
        cmd.Parameters.AddWithValue(AuditRow.Genesis);
        await using var r = await cmd.ExecuteReaderAsync(_stop.Token);
        if (!await r.ReadAsync(_stop.Token)) throw new InvalidOperationException("The access log's lane has no head row.");
        (lane.Day, lane.Pos, lane.Hash) = (day, r.GetInt64(0), r.GetFieldValue<byte[]>(1));
    }

    // The batch as one array per column: one insert ... select from unnest(...) for all of it.
    private sealed class Columns(int n)
    {
        private readonly Guid[] _id = new Guid[n];
        private readonly DateTimeOffset[] _recorded = new DateTimeOffset[n];
        private readonly long[] _pos = new long[n];
        private readonly byte[][] _hash = new byte[n][];
        private readonly string[] _patients = new string[n], _entities = new string[n], _agents = new string[n], _purpose = new string[n], _keys = new string[n];
        private readonly string?[] _org = new string?[n];
        private readonly string[] _action = new string[n], _subtype = new string[n], _type = new string[n], _source = new string[n], _doc = new string[n];
        private readonly short[] _outcome = new short[n];

        public void Add(int i, AuditRow row, long pos, byte[] hash)
        {
            (_id[i], _recorded[i], _pos[i], _hash[i]) = (row.Id, row.Recorded, pos, hash);
            (_patients[i], _entities[i], _agents[i], _purpose[i]) = (Join(row.Patients), Join(row.Entities), Join(row.Agents), Join(row.Purpose));
            (_org[i], _action[i], _subtype[i], _outcome[i]) = (row.AgentOrg, row.Action, row.Subtype, (short)row.Outcome);
            (_type[i], _source[i], _doc[i], _keys[i]) = (row.Type, row.Source, row.Doc, Join(row.Keys));
        }

        private static string Join(string[] values) => string.Join('\u001f', values);

        public NpgsqlCommand Insert(NpgsqlConnection connection, DateOnly day, short lane, long from, long to, byte[] toHash)
        {
            var cmd = new NpgsqlCommand($"""
                with head as (select day, lane from {AuditRows.Schema}.chain_head where day = $16 and lane = $17 and pos = $18 for update),
                moved as (update {AuditRows.Schema}.chain_head h set pos = $19, hash = $20 from head where h.day = head.day and h.lane = head.lane returning 1)
                insert into {AuditRows.Schema}.event ({AuditRows.Columns})
                select id, recorded, $17, pos, hash, {Split("patients")}, {Split("entities")}, {Split("agents")}, org, action, subtype, outcome, {Split("purpose")}, type, source, doc, {Split("keys")}
                from unnest($1::uuid[], $2::timestamptz[], $3::bigint[], $4::bytea[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                            $10::text[], $11::text[], $12::smallint[], $13::text[], $14::text[], $15::text[], $21::text[])
                     as t(id, recorded, pos, hash, patients, entities, agents, purpose, org, action, subtype, outcome, type, source, doc, keys)
                where exists (select 1 from moved)
                """, connection);
            foreach (var values in new object[] { _id, _recorded, _pos, _hash, _patients, _entities, _agents, _purpose, _org, _action, _subtype, _outcome, _type, _source, _doc })
                cmd.Parameters.Add(new NpgsqlParameter { Value = values });
            cmd.Parameters.AddWithValue(day);
            cmd.Parameters.AddWithValue(lane);
            cmd.Parameters.AddWithValue(from);
            cmd.Parameters.AddWithValue(to);
            cmd.Parameters.AddWithValue(toHash);
            cmd.Parameters.Add(new NpgsqlParameter { Value = _keys });
            return cmd;
        }

        private static string Split(string column) => $"case when {column} = '' then '{{}}'::text[] else string_to_array({column}, E'\\x1f') end";
    }

    // Partitions for today and the next two days, made at start and checked every hour.
    private async Task KeepPartitions()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await AuditSchema.EnsurePartitions(_db, DateOnly.FromDateTime(DateTime.UtcNow), 3, _stop.Token);
                await Task.Delay(TimeSpan.FromHours(1), _stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _log.LogError("The access log's partitions could not be made: {Error}", DatabaseErrors.Describe(e));
                try { await Task.Delay(TimeSpan.FromMinutes(1), _stop.Token); } catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>Makes the next days' partitions (start-up waits for this, after the migrations), then keeps them made every hour.</summary>
    public async Task Ready(CancellationToken ct)
    {
        if (!Enabled) return;
        await AuditSchema.EnsurePartitions(_db, DateOnly.FromDateTime(DateTime.UtcNow), 3, ct);
        _partitions = Task.Run(KeepPartitions);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync();
        try { await Task.WhenAll([.. _loops, _partitions]); } catch (OperationCanceledException) { }
        _stop.Dispose();
    }

    /// <summary>The records of one call's changes: who and why from the call, what from each change.</summary>
    private sealed class ChangeAudit(AuditWho who, string site) : IChangeAudit
    {
        public AuditRow Changed(ResourceChanged change, string resourceType, string? json, string? interaction)
        {
            var patients = new HashSet<string>();
            PatientRefs.Collect(json, patients);
            var (subtype, action) = change.Method switch
            {
                "DELETE" => ("delete", "D"),
                "POST" => ("create", "C"),
                "PATCH" => ("patch", "U"),
                _ => (interaction ?? "update", change.Version == 1 ? "C" : "U"),
            };
            return AuditEvents.Build(who, new AuditWhat("rest", subtype, action, 0, null, patients, [$"{change.Key}/_history/{change.Version}"]), site);
        }
    }
}
