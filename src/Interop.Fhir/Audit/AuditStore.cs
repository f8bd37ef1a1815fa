using System.Text;
using System.Text.Json.Nodes;
using Interop.Fhir.Storage;
using Npgsql;

namespace Interop.Fhir.Audit;

/// <summary>Reading audit.event: searches, one record, the access report and the export. Records are served as stored.</summary>
public sealed class AuditStore([Microsoft.Extensions.DependencyInjection.FromKeyedServices(StorageSetup.SearchDatabase)] NpgsqlDataSource db)
{
    private const string A = AuditRows.Schema;

    public async Task<AuditPage> Search(AuditQuery query, CancellationToken ct)
    {
        var (where, values) = Where(query);
        var records = new List<StoredAudit>(query.Count);
        (DateTimeOffset, Guid)? last = null, next = null;
        await using var connection = await db.OpenConnectionAsync(ct);
        if (query.Count > 0)
        {
            var keyset = query.After is { } after
                ? $" and (recorded, id) {(query.Ascending ? ">" : "<")} (${values.Count + 1}, ${values.Count + 2})" : "";
            var order = query.Ascending ? "asc" : "desc";
            // "+ interval '0'" keeps a selective search on its GIN index (see AuditQuery.Selective); same order.
            var time = query.Selective ? "recorded + interval '0'" : "recorded";
            await using var cmd = new NpgsqlCommand(
                $"select doc, recorded, id from {A}.event where {where}{keyset} order by {time} {order}, id {order} limit {query.Count + 1}", connection);
            foreach (var v in values) cmd.Parameters.AddWithValue(v);
            if (query.After is { } a)
            {
                cmd.Parameters.AddWithValue(a.Recorded);
                cmd.Parameters.AddWithValue(a.Id);
            }
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                if (records.Count == query.Count)
                {
                    next = last;
                    break;
                }
                last = (r.GetFieldValue<DateTimeOffset>(1), r.GetGuid(2));
                records.Add(new StoredAudit(last.Value.Item2, last.Value.Item1, r.GetString(0)));
            }
        }
        int? total = null;
        if (query.Total)
        {
            await using var count = new NpgsqlCommand($"select count(*) from {A}.event where {where}", connection);
            foreach (var v in values) count.Parameters.AddWithValue(v);
            total = (int)(long)(await count.ExecuteScalarAsync(ct))!;
        }
        return new AuditPage(records, next, total, "");
    }

    /// <summary>One record by id; the id's UUIDv7 time picks the partition. Null when there is none (or not about <paramref name="patient"/>).</summary>
    public async Task<StoredAudit?> Read(string id, string? patient, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var guid) || AuditEvents.TimeOf(guid) is not { } at) return null;
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand(
            $"select doc, recorded from {A}.event where id = $1 and recorded >= $2 and recorded < $3 and ($4::text is null or patients @> array[$4::text])", connection);
        cmd.Parameters.AddWithValue(guid);
        cmd.Parameters.AddWithValue(at);
        cmd.Parameters.AddWithValue(at.AddMilliseconds(1));
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)patient ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? new StoredAudit(guid, r.GetFieldValue<DateTimeOffset>(1), r.GetString(0)) : null;
    }

    public async Task<IReadOnlyList<AccessLine>> Report(string patient, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand($"""
            select recorded, agent_org, agents, action, subtype, outcome, entities, purpose,
                   case when purpose @> array['{AuditEvents.BreakGlassCode}'] then doc::jsonb -> 'purposeOfEvent' -> 0 ->> 'text' end
            from {A}.event
            where keys @> array['p:' || $1] and recorded >= $2 and recorded < $3 and type = 'rest'
            order by agent_org nulls last, agents[2] nulls last, recorded limit 100000
            """, connection);
        cmd.Parameters.AddWithValue(patient);
        cmd.Parameters.AddWithValue(start);
        cmd.Parameters.AddWithValue(end);
        var lines = new List<AccessLine>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            var agents = r.GetFieldValue<string[]>(2);
            var entities = r.GetFieldValue<string[]>(6).Where(e => e != patient).ToArray();
            lines.Add(new AccessLine(r.GetFieldValue<DateTimeOffset>(0), r.IsDBNull(1) ? null : r.GetString(1), agents.Length > 1 ? agents[1] : null,
                agents[0], r.GetString(3), r.GetString(4), r.GetInt16(5), entities.Length > 0 ? string.Join(' ', entities) : patient,
                r.GetFieldValue<string[]>(7).Contains(AuditEvents.BreakGlassCode), r.IsDBNull(8) ? null : r.GetString(8)));
        }
        return lines;
    }

    /// <summary>Writes the records of [start, end) as NDJSON, oldest first, streamed from the database.</summary>
    public async Task Export(DateTimeOffset start, DateTimeOffset end, Stream output, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand($"select doc from {A}.event where recorded >= $1 and recorded < $2 order by recorded, id", connection)
            { CommandTimeout = 0 };
        cmd.Parameters.AddWithValue(start);
        cmd.Parameters.AddWithValue(end);
        await using var r = await cmd.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct);
        var newline = "\n"u8.ToArray();
        while (await r.ReadAsync(ct))
        {
            await output.WriteAsync(Encoding.UTF8.GetBytes(r.GetString(0)), ct);
            await output.WriteAsync(newline, ct);
        }
    }

    private static (string Where, List<object> Values) Where(AuditQuery query)
    {
        var parts = new List<string>();
        var values = new List<object>();
        foreach (var (sql, vals) in query.Conditions)
        {
            var offset = values.Count;
            // The condition's $1..$n, numbered after the values before it.
            parts.Add("(" + System.Text.RegularExpressions.Regex.Replace(sql, @"\$(\d+)", m => "$" + (offset + int.Parse(m.Groups[1].Value))) + ")");
            values.AddRange(vals);
        }
        return (parts.Count == 0 ? "true" : string.Join(" and ", parts), values);
    }

    /// <summary>
    /// A line of a resident's own access report, as <see cref="ForResident(string, string, string)"/> shows a record: other
    /// clients' ids become "an application of the group", and what it names of other patients is left out.
    /// </summary>
    public static AccessLine ForResident(AccessLine line, string ownClient, string patient)
    {
        var what = line.What.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(e => !e.StartsWith("Patient/", StringComparison.Ordinal) || e == patient || e.StartsWith(patient + "/", StringComparison.Ordinal)).ToList();
        return line with
        {
            Client = line.Client == ownClient ? line.Client : OtherApplication,
            What = what.Count > 0 ? string.Join(' ', what) : patient,
        };
    }

    public const string OtherApplication = "an application of the group";

    /// <summary>
    /// A record as a resident sees it: without network addresses, without the ids of clients other than their own
    /// (the person and institution stay), and without what it says of anyone else — the other patients a search
    /// returned, and the search's query text, which may name them.
    /// </summary>
    public static string ForResident(string json, string ownClient, string patient)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        if (node["entity"] is JsonArray entities)
            foreach (var other in entities.OfType<JsonObject>().Where(e => e["query"] is not null
                         || e["role"]?["code"]?.GetValue<string>() == "1" && e["what"]?["reference"]?.GetValue<string>() != patient).ToList())
                entities.Remove(other);
        if (node["entity"] is JsonArray { Count: 0 }) node.Remove("entity"); // FHIR JSON has no empty arrays
        if (node["agent"] is JsonArray agents)
            foreach (var agent in agents.OfType<JsonObject>())
            {
                agent.Remove("network");
                if (agent["who"] is JsonObject who && who["identifier"] is JsonObject id
                    && id["system"]?.GetValue<string>() == AuditEvents.ClientSystem && id["value"]?.GetValue<string>() != ownClient)
                {
                    who.Remove("identifier");
                    who["display"] = OtherApplication;
                }
            }
        return node.ToJsonString();
    }
}
