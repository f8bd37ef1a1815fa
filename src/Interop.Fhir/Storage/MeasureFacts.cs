using Interop.Fhir.Indexing;

namespace Interop.Fhir.Storage;

/// <summary>One fact table's insert: its SQL (positional ? parameters) and their values.</summary>
public sealed record FactInsert(string Sql, object?[] Args);

/// <summary>
/// The narrow facts the group's indicators count (Measures/IndicatorSql), kept beside the index rows so an indicator
/// reads one small row per resident, encounter or episode instead of joining the wide index tables and the document
/// table: <c>measure_resident</c> (a live Patient, its managing institution), <c>measure_encounter</c> (an Encounter
/// that happened: subject, period, start month, service provider) and <c>measure_episode</c> (an EpisodeOfCare's type,
/// status, period, patient and chronic conditions). They are derived from the same <see cref="IndexRows"/> as the
/// index tables, in the same statement (IndexWriter), so they are exactly the joins the indicators made before: one
/// row per combination of the index rows they joined. Reindex rebuilds them; migration 9 fills them from the index.
/// </summary>
public static class MeasureFacts
{
    private const string S = StorageSetup.Schema;

    /// <summary>The fact table of a resource type, or null when the type has none.</summary>
    public static string? Table(string type) => type switch
    {
        "Patient" => "measure_resident",
        "Encounter" => "measure_encounter",
        "EpisodeOfCare" => "measure_episode",
        _ => null,
    };

    public static readonly string[] Tables = ["measure_resident", "measure_encounter", "measure_episode"];

    /// <summary>The statuses for which an Encounter did not happen: it has no fact row.</summary>
    private static readonly HashSet<string> NotHappened = new(["planned", "cancelled", "entered-in-error"], StringComparer.Ordinal);

    /// <summary>The insert of a resource's facts, or null when it has none.</summary>
    public static FactInsert? Insert(string key, string type, long rid, IndexRows rows) => type switch
    {
        "Patient" => Resident(key, rid, rows),
        "Encounter" => Encounter(rid, rows),
        "EpisodeOfCare" => Episode(rid, rows),
        _ => null,
    };

    // One row per managingOrganization reference, or one with "none" (a left join).
    private static FactInsert Resident(string key, long rid, IndexRows rows)
    {
        var orgs = References(rows, "organization").ToList();
        if (orgs.Count == 0) orgs.Add(("none", null));
        return new($"insert into {S}.measure_resident (rid, subject, org, org_rid) select ?, ?, * from unnest(?::text[], ?::bigint[])",
            [rid, key, orgs.Select(o => o.Label).ToArray(), orgs.Select(o => o.Rid).ToArray()]);
    }

    // Subject (a Patient) × period × service provider (or "none"); none if its status says it did not happen.
    private static FactInsert? Encounter(long rid, IndexRows rows)
    {
        if (rows.Tokens.Any(t => t.Param == "status" && IndexText.Bound(t.Code) is { } c && NotHappened.Contains(c))) return null;
        var subjects = rows.References.Where(r => r.Param == "subject" && IndexText.Bound(r.TargetType) == "Patient").Select(TargetRid).OfType<long>().ToList();
        var providers = References(rows, "service-provider").ToList();
        if (providers.Count == 0) providers.Add(("none", null));
        var facts = (from p in subjects from d in rows.Dates.Where(d => d.Param == "date") from sp in providers select (p, d.Lo, d.Hi, sp.Label, sp.Rid)).ToList();
        if (facts.Count == 0) return null;
        return new($"insert into {S}.measure_encounter (rid, patient_rid, lo, hi, month, provider, provider_rid) " +
                   "select ?, p, lo, hi, to_char(lo at time zone 'UTC', 'YYYY-MM'), provider, provider_rid " +
                   "from unnest(?::bigint[], ?::timestamptz[], ?::timestamptz[], ?::text[], ?::bigint[]) as u(p, lo, hi, provider, provider_rid)",
            [rid, facts.Select(f => f.p).ToArray(), facts.Select(f => f.Lo).ToArray(), facts.Select(f => f.Hi).ToArray(),
             facts.Select(f => f.Label).ToArray(), facts.Select(f => f.Rid).ToArray()]);
    }

    // Type × status × period × patient, each row with all the chronic conditions (system|code; null without one).
    private static FactInsert? Episode(long rid, IndexRows rows)
    {
        var facts = (from ty in rows.Tokens.Where(t => t.Param == "type")
                     from st in rows.Tokens.Where(t => t.Param == "status")
                     from d in rows.Dates.Where(d => d.Param == "date")
                     from p in rows.References.Where(r => r.Param == "patient")
                     select (System: IndexText.Bound(ty.System), Code: IndexText.Bound(ty.Code), Status: IndexText.Bound(st.Code), d.Lo, d.Hi, Patient: TargetRid(p))).ToList();
        if (facts.Count == 0) return null;
        var conditions = rows.Tokens.Where(t => t.Param == "chronic-condition")
            .Select(t => IndexText.Bound(t.System) is { } s && IndexText.Bound(t.Code) is { } c ? s + "|" + c : null).ToArray();
        return new($"insert into {S}.measure_episode (rid, conditions, patient_rid, type_system, type_code, status, lo, hi) " +
                   "select ?, ?::text[], * from unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::timestamptz[])",
            [rid, conditions.Length == 0 ? null : conditions, facts.Select(f => f.Patient).ToArray(), facts.Select(f => f.System).ToArray(),
             facts.Select(f => f.Code).ToArray(), facts.Select(f => f.Status).ToArray(), facts.Select(f => f.Lo).ToArray(), facts.Select(f => f.Hi).ToArray()]);
    }

    // A reference parameter's targets as the indicators name them: "Type/id" ("none" for an absolute or contained one) and the compact key.
    private static IEnumerable<(string Label, long? Rid)> References(IndexRows rows, string param) =>
        rows.References.Where(r => r.Param == param)
            .Select(r => IndexText.Bound(r.TargetType) is { } t && IndexText.Bound(r.TargetId) is { } id ? (t + "/" + id, TargetRid(r)) : ("none", TargetRid(r)));

    // As IndexWriter stores target_rid: the compact key of a local reference, else null.
    private static long? TargetRid((string Param, string? TargetType, string? TargetId, string? Url) r) =>
        r.TargetType is null || r.TargetId is null ? null : CompactKeys.Rid(IndexText.Bound(r.TargetType) + "/" + IndexText.Bound(r.TargetId));

    /// <summary>
    /// Migration 9: the fact tables, each with an index on rid (the writer replaces a resource's rows by it; an
    /// indicator probes residents by it), filled from the index tables with the same joins the indicators made.
    /// New tables: their indexes need no CONCURRENTLY.
    /// </summary>
    public const string Ddl = $"""
        create table if not exists {S}.measure_resident (rid bigint not null, subject text not null, org text not null, org_rid bigint);
        create table if not exists {S}.measure_encounter (
            rid bigint not null, patient_rid bigint not null, lo timestamptz, hi timestamptz, month text, provider text not null, provider_rid bigint);
        create table if not exists {S}.measure_episode (
            rid bigint not null, patient_rid bigint, type_system text, type_code text, status text, lo timestamptz, hi timestamptz, conditions text[]);
        insert into {S}.measure_resident (rid, subject, org, org_rid)
            select d.rid, d.id, coalesce(o.target_type || '/' || o.target_id, 'none'), o.target_rid
            from {S}.mt_doc_resourcedoc d
            left join {S}.ix_reference o on o.rid = d.rid and o.rtype = 'Patient' and o.param = 'organization'
            where d.resource_type = 'Patient' and not d.deleted and d.rid is not null;
        insert into {S}.measure_encounter (rid, patient_rid, lo, hi, month, provider, provider_rid)
            select e.rid, e.target_rid, d.lo, d.hi, to_char(d.lo at time zone 'UTC', 'YYYY-MM'), coalesce(sp.target_type || '/' || sp.target_id, 'none'), sp.target_rid
            from {S}.ix_reference e
            join {S}.ix_date d on d.rid = e.rid and d.rtype = 'Encounter' and d.param = 'date'
            left join {S}.ix_reference sp on sp.rid = e.rid and sp.rtype = 'Encounter' and sp.param = 'service-provider'
            where e.rtype = 'Encounter' and e.param = 'subject' and e.target_type = 'Patient' and e.target_rid is not null
              and not exists (select 1 from {S}.ix_token s where s.rid = e.rid and s.rtype = 'Encounter' and s.param = 'status'
                              and s.code in ('planned', 'cancelled', 'entered-in-error'));
        insert into {S}.measure_episode (rid, patient_rid, type_system, type_code, status, lo, hi, conditions)
            select ty.rid, p.target_rid, ty.system, ty.code, st.code, d.lo, d.hi,
                   (select array_agg(cc.system || '|' || cc.code) from {S}.ix_token cc where cc.rid = ty.rid and cc.rtype = 'EpisodeOfCare' and cc.param = 'chronic-condition')
            from {S}.ix_token ty
            join {S}.ix_token st on st.rid = ty.rid and st.rtype = 'EpisodeOfCare' and st.param = 'status'
            join {S}.ix_date d on d.rid = ty.rid and d.rtype = 'EpisodeOfCare' and d.param = 'date'
            join {S}.ix_reference p on p.rid = ty.rid and p.rtype = 'EpisodeOfCare' and p.param = 'patient'
            where ty.rtype = 'EpisodeOfCare' and ty.param = 'type';
        create index if not exists measure_resident_rid on {S}.measure_resident (rid) include (org_rid);
        create index if not exists measure_encounter_rid on {S}.measure_encounter (rid);
        create index if not exists measure_episode_rid on {S}.measure_episode (rid);
        analyze {S}.measure_resident, {S}.measure_encounter, {S}.measure_episode;
        """;
}
