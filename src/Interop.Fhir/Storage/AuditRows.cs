using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Marten;

namespace Interop.Fhir.Storage;

/// <summary>
/// One access-log record as stored in audit.event: the AuditEvent's JSON exactly as it is served, and the columns
/// auditors search by. Its digest covers both (see <see cref="Digest"/>); the chain links digests per lane.
/// </summary>
public sealed record AuditRow(
    Guid Id, DateTimeOffset Recorded, string[] Patients, string[] Entities, string[] Agents, string? AgentOrg,
    string Action, string Subtype, int Outcome, string[] Purpose, string Type, string Source, string Doc)
{
    /// <summary>
    /// SHA-256 over the canonical content: every column but the chain's own, in a fixed order, separated by
    /// U+001F (which JSON text and the columns cannot contain unescaped). Recorded in microseconds since 1970,
    /// PostgreSQL's precision.
    /// </summary>
    public byte[] Digest()
    {
        var text = string.Join('\u001f',
            Id.ToString("D"), Micros(Recorded).ToString(System.Globalization.CultureInfo.InvariantCulture),
            string.Join(',', Patients), string.Join(',', Entities), string.Join(',', Agents), AgentOrg ?? "",
            Action, Subtype, Outcome.ToString(System.Globalization.CultureInfo.InvariantCulture), string.Join(',', Purpose), Type, Source, Doc,
            string.Join(',', Keys));
        return SHA256.HashData(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>
    /// What auditors search by, for the one GIN index: "p:" patients, "e:" entities, "a:" agents, "o:" the institution.
    /// Stored, and covered by the digest: a key edited to hide a record from a search breaks the chain.
    /// </summary>
    public string[] Keys { get; init; } = KeysOf(Patients, Entities, Agents, AgentOrg);

    public static string[] KeysOf(string[] patients, string[] entities, string[] agents, string? org)
    {
        var keys = new string[patients.Length + entities.Length + agents.Length + (org is null ? 0 : 1)];
        var i = 0;
        foreach (var p in patients) keys[i++] = "p:" + p;
        foreach (var e in entities) keys[i++] = "e:" + e;
        foreach (var a in agents) keys[i++] = "a:" + a;
        if (org is not null) keys[i] = "o:" + org;
        return keys;
    }

    /// <summary>The next link of a lane's chain: SHA-256(previous hash ‖ digest).</summary>
    public static byte[] Link(byte[] previous, byte[] digest) => SHA256.HashData([.. previous, .. digest]);

    /// <summary>The hash before the first record of a day's lane.</summary>
    public static readonly byte[] Genesis = new byte[32];

    /// <summary>The UTC day: its partition, and its chains.</summary>
    public DateOnly Day => DateOnly.FromDateTime(Recorded.UtcDateTime);

    public static long Micros(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    /// <summary>A time at PostgreSQL's precision (so the digest computed now equals the one computed from the row).</summary>
    public static DateTimeOffset Truncate(DateTimeOffset t) => new(t.UtcTicks - t.UtcTicks % 10, TimeSpan.Zero);
}

/// <summary>The record a write makes of itself, in its own transaction (see <see cref="WriteContext.Audit"/>).</summary>
public interface IChangeAudit
{
    AuditRow Changed(ResourceChanged change, string resourceType, string? json, string? interaction);
}

/// <summary>Writing access-log rows: the chain's link is computed in the same statement that takes the lane's head.</summary>
public static class AuditRows
{
    private static readonly byte[] Genesis = AuditRow.Genesis;

    /// <summary>The columns of audit.event, in the order inserts and <see cref="Read"/> use.</summary>
    public const string Columns = "id, recorded, lane, pos, hash, patients, entities, agents, agent_org, action, subtype, outcome, purpose, type, source, doc, keys";

    /// <summary>A record selected with <see cref="Columns"/>, and its place in its chain.</summary>
    public static (AuditRow Row, short Lane, long Pos, byte[] Hash) Read(Npgsql.NpgsqlDataReader r) =>
        (new AuditRow(r.GetGuid(0), r.GetFieldValue<DateTimeOffset>(1), r.GetFieldValue<string[]>(5), r.GetFieldValue<string[]>(6),
            r.GetFieldValue<string[]>(7), r.IsDBNull(8) ? null : r.GetString(8), r.GetString(9), r.GetString(10), r.GetInt16(11),
            r.GetFieldValue<string[]>(12), r.GetString(13), r.GetString(14), r.GetString(15)) { Keys = r.GetFieldValue<string[]>(16) },
         r.GetInt16(2), r.GetInt64(3), r.GetFieldValue<byte[]>(4));

    /// <summary>The answer when the log refuses a record: the request is not carried out (503).</summary>
    public static Errors.FhirException Unwritable() =>
        Errors.FhirException.Unavailable("The access log cannot be written right now, so the request was not carried out; retry shortly.");

    public const string Schema = "audit";

    /// <summary>
    /// Lanes 0..WriteLanes-1 take the records of writes (one per transaction, see <see cref="RentLane"/>); each group-commit loop
    /// of each server takes one of its own at start, from CommitLanes above them.
    /// </summary>
    public const int WriteLanes = 16, CommitLanes = 1024;

    // The head row of the day's lane is locked by the upsert until the transaction ends; 16 lanes, each held by one
    // write of an instance at a time, keep concurrent writes from queueing on one. The link is computed here, in the statement that takes the head.
    private const string InsertLinked = $"""
        with head as (
            insert into {Schema}.chain_head as h (day, lane, pos, hash) values (?, ?, 1, sha256(? || ?))
            on conflict (day, lane) do update set pos = h.pos + 1, hash = sha256(h.hash || ?)
            returning lane, pos, hash)
        insert into {Schema}.event ({Columns})
        select ?, ?, lane, pos, hash, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? from head
        """;

    // The write lanes this instance is not using now, in a random order per instance (two instances on one database
    // start on different lanes). A lane's head row stays locked until its transaction commits, flush included: a lane
    // picked at random was taken by another of 16 concurrent writers more often than not, and the writer queued
    // behind that whole commit (measured: the head upsert averaged 3.8 ms, most of a write's time in PostgreSQL).
    private static readonly ConcurrentStack<short> FreeLanes =
        new(Enumerable.Range(0, WriteLanes).Select(l => (short)l).OrderBy(_ => Random.Shared.Next()));

    /// <summary>
    /// A lane for one write transaction: all its records go to that lane, so it never holds two lanes' heads. A lane
    /// no other write of this instance holds, while there is one; beyond 16 concurrent writes, one at random (it waits
    /// for that lane's commit). Give it back with <see cref="ReturnLane"/> when the transaction has ended.
    /// </summary>
    public static short RentLane() => FreeLanes.TryPop(out var lane) ? lane : (short)(-1 - Random.Shared.Next(WriteLanes));

    /// <summary>Gives back a lane from <see cref="RentLane"/> (a shared one, beyond the pool, is not kept).</summary>
    public static void ReturnLane(short rented)
    {
        if (rented >= 0) FreeLanes.Push(rented);
    }

    /// <summary>The lane number a rented lane writes to.</summary>
    public static short LaneOf(short rented) => rented >= 0 ? rented : (short)(-1 - rented);

    /// <summary>Queues <paramref name="row"/> into a write's session: it commits, or rolls back, with the change.</summary>
    public static void Queue(IDocumentSession session, AuditRow row, short lane)
    {
        var digest = row.Digest();
        session.QueueSqlCommand(InsertLinked, row.Day, lane, Genesis, digest, digest, row.Id, row.Recorded, row.Patients, row.Entities, row.Agents,
            (object?)row.AgentOrg ?? DBNull.Value, row.Action, row.Subtype, (short)row.Outcome, row.Purpose, row.Type, row.Source, row.Doc, row.Keys);
    }
}
