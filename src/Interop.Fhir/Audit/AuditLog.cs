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
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private Task _partitions = Task.CompletedTask;

    public AuditOptions Options { get; }

    public AuditLog(NpgsqlDataSource db, AuditOptions options, ILogger<AuditLog> log)
    {
        (_db, Options, _log) = (db, options, log);
        _loop = options.Enabled ? Task.Run(Loop) : Task.CompletedTask;
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

    public static FhirException Unwritable() =>
        FhirException.Unavailable("The access log cannot be written right now, so the request was not carried out; retry shortly.");

    private async Task Loop()
    {
        var batch = new List<Pending>(Options.MaxBatch);
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token))
            {
                while (batch.Count < Options.MaxBatch && reader.TryRead(out var p)) batch.Add(p);
                try
                {
                    await Commit(batch);
                    foreach (var p in batch) p.Done.TrySetResult();
                }
                catch (Exception e) when (e is not OperationCanceledException || !_stop.IsCancellationRequested)
                {
                    _log.LogError("The access log could not write {Count} records: {Error}", batch.Count, DatabaseErrors.Describe(e));
                    // One record the database refuses must not fail the others of its batch: each is tried alone.
                    foreach (var p in batch)
                    {
                        try
                        {
                            if (batch.Count > 1) await Commit([p]);
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
        while (reader.TryRead(out var left)) left.Done.TrySetException(Unwritable());
    }

    // One transaction: per day (a batch spans two at midnight), take the commit lane's head, link the records in
    // order, insert them in one statement and move the head.
    private async Task Commit(List<Pending> batch)
    {
        await using var connection = await _db.OpenConnectionAsync(_stop.Token);
        await using var tx = await connection.BeginTransactionAsync(_stop.Token);
        foreach (var day in batch.GroupBy(p => p.Row.Day))
        {
            var (pos, hash) = await Head(connection, tx, day.Key);
            var rows = day.ToList();
            var columns = new Columns(rows.Count);
            for (var i = 0; i < rows.Count; i++)
            {
                hash = AuditRow.Link(hash, rows[i].Row.Digest());
                columns.Add(i, rows[i].Row, ++pos, hash);
            }
            await using var write = new NpgsqlBatch(connection, tx);
            write.BatchCommands.Add(columns.Insert());
            var move = new NpgsqlBatchCommand($"update {AuditRows.Schema}.chain_head set pos = $1, hash = $2 where day = $3 and lane = $4");
            move.Parameters.AddWithValue(pos);
            move.Parameters.AddWithValue(hash);
            move.Parameters.AddWithValue(day.Key);
            move.Parameters.AddWithValue((short)AuditRows.CommitLane);
            write.BatchCommands.Add(move);
            await write.ExecuteNonQueryAsync(_stop.Token);
        }
        await tx.CommitAsync(_stop.Token);
    }

    private async Task<(long Pos, byte[] Hash)> Head(NpgsqlConnection connection, NpgsqlTransaction tx, DateOnly day)
    {
        await using var head = new NpgsqlBatch(connection, tx);
        foreach (var sql in new[]
                 {
                     $"insert into {AuditRows.Schema}.chain_head (day, lane, pos, hash) values ($1, $2, 0, $3) on conflict do nothing",
                     $"select pos, hash from {AuditRows.Schema}.chain_head where day = $1 and lane = $2 for update",
                 })
        {
            var cmd = new NpgsqlBatchCommand(sql);
            cmd.Parameters.AddWithValue(day);
            cmd.Parameters.AddWithValue((short)AuditRows.CommitLane);
            if (sql.StartsWith("insert", StringComparison.Ordinal)) cmd.Parameters.AddWithValue(AuditRow.Genesis);
            head.BatchCommands.Add(cmd);
        }
        await using var r = await head.ExecuteReaderAsync(_stop.Token);
        while (r.FieldCount == 0 && await r.NextResultAsync(_stop.Token)) { }
        if (!await r.ReadAsync(_stop.Token)) throw new InvalidOperationException("The access log's commit lane has no head row.");
        return (r.GetInt64(0), r.GetFieldValue<byte[]>(1));
    }

    // The batch as one array per column: one insert ... select from unnest(...) for all of it.
    private sealed class Columns(int n)
    {
        private readonly Guid[] _id = new Guid[n];
        private readonly DateTimeOffset[] _recorded = new DateTimeOffset[n];
        private readonly long[] _pos = new long[n];
        private readonly byte[][] _hash = new byte[n][];
        private readonly string[] _patients = new string[n], _entities = new string[n], _agents = new string[n], _purpose = new string[n];
        private readonly string?[] _org = new string?[n];
        private readonly string[] _action = new string[n], _subtype = new string[n], _type = new string[n], _source = new string[n], _doc = new string[n];
        private readonly short[] _outcome = new short[n];

        public void Add(int i, AuditRow row, long pos, byte[] hash)
        {
            (_id[i], _recorded[i], _pos[i], _hash[i]) = (row.Id, row.Recorded, pos, hash);
            (_patients[i], _entities[i], _agents[i], _purpose[i]) = (Join(row.Patients), Join(row.Entities), Join(row.Agents), Join(row.Purpose));
            (_org[i], _action[i], _subtype[i], _outcome[i]) = (row.AgentOrg, row.Action, row.Subtype, (short)row.Outcome);
            (_type[i], _source[i], _doc[i]) = (row.Type, row.Source, row.Doc);
        }

        private static string Join(string[] values) => string.Join('\u001f', values);

        public NpgsqlBatchCommand Insert()
        {
            var cmd = new NpgsqlBatchCommand($"""
                insert into {AuditRows.Schema}.event (id, recorded, lane, pos, hash, patients, entities, agents, agent_org, action, subtype, outcome, purpose, type, source, doc)
                select id, recorded, {AuditRows.CommitLane}, pos, hash, {Split("patients")}, {Split("entities")}, {Split("agents")}, org, action, subtype, outcome, {Split("purpose")}, type, source, doc
                from unnest($1::uuid[], $2::timestamptz[], $3::bigint[], $4::bytea[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                            $10::text[], $11::text[], $12::smallint[], $13::text[], $14::text[], $15::text[])
                     as t(id, recorded, pos, hash, patients, entities, agents, purpose, org, action, subtype, outcome, type, source, doc)
                """);
            foreach (var values in new object[] { _id, _recorded, _pos, _hash, _patients, _entities, _agents, _purpose, _org, _action, _subtype, _outcome, _type, _source, _doc })
                cmd.Parameters.Add(new NpgsqlParameter { Value = values });
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
        try { await Task.WhenAll(_loop, _partitions); } catch (OperationCanceledException) { }
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
