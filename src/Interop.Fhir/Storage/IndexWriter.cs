using Interop.Fhir.Indexing;
using System.Text;
using Marten;

namespace Interop.Fhir.Storage;

/// <summary>
/// Replaces resources' index rows inside the Marten session's transaction. A batch's resources (a transaction bundle,
/// an import chunk, a reindex batch) share one SQL statement of data-modifying CTEs, one per index table, the rows of
/// every resource unnested from arrays, so a write stays one round trip and a bundle of 300 resources is one statement,
/// not 300. The derived tables follow in a statement per resource that has rows in them: care relationships and consent
/// denials (the access policy) and the indicators' facts (<see cref="MeasureFacts"/>). They run after the index rows,
/// so a relationship made through a PractitionerRole reads the role's organization from its index rows even when the
/// role is written in the same batch, and a role's own write moves them to its new organization.
/// </summary>
public sealed class IndexQueue
{
    private const string S = StorageSetup.Schema;

    private readonly List<(long Rid, string Type, IndexRows Rows)> _indexed = [];
    private readonly List<long> _replaced = [];
    private readonly List<IndexWriter.Ctes> _derived = [];

    /// <summary>Queues the replacement of a resource's rows: deleted when it <paramref name="existed"/>, then <paramref name="rows"/> (null for a delete).</summary>
    /// <param name="resource">The version being written (null for a delete): its care relationships and consent denials are derived too.</param>
    public void Replace(string key, string type, IndexRows? rows, bool existed, Hl7.Fhir.Model.Resource? resource = null)
    {
        var rid = CompactKeys.Rid(key);
        var ctes = new IndexWriter.Ctes();
        if (existed)
        {
            _replaced.Add(rid);
            if (type is "EpisodeOfCare" or "CareTeam" or "ServiceRequest" or "Encounter") ctes.Add($"delete from {S}.care_relationship where source_rid = ?", rid);
            if (type == "Consent") ctes.Add($"delete from {S}.consent_denial where source_rid = ?", rid);
            if (MeasureFacts.Table(type) is { } facts) ctes.Add($"delete from {S}.{facts} where rid = ?", rid);
        }
        if (resource is not null)
        {
            var all = CareRelationships.Of(resource, Clock.Now());
            var direct = all.Where(r => r.Role is null).ToList();
            if (direct.Count > 0)
                ctes.Add($"insert into {S}.care_relationship (source_rid, patient_rid, institution, kind, ended) select ?, * from unnest(?::bigint[], ?::text[], ?::text[], ?::timestamptz[])",
                    rid, direct.Select(r => CompactKeys.Rid("Patient/" + r.PatientId)).ToArray(), direct.Select(r => r.Institution).ToArray(),
                    direct.Select(r => r.Kind).ToArray(), direct.Select(r => r.Ended).ToArray());
            // Through a PractitionerRole: its organization, looked up in this statement from the role's index rows
            // (a role not yet written, without one, or inactive gives no institution until it is written again).
            var roles = all.Where(r => r.Role is not null).ToList();
            if (roles.Count > 0)
                ctes.Add($"insert into {S}.care_relationship (source_rid, patient_rid, institution, kind, ended, via_rid) " +
                    $"select ?, v.patient_rid, coalesce(o.institution, ''), v.kind, v.ended, v.via_rid " +
                    "from unnest(?::bigint[], ?::bigint[], ?::text[], ?::timestamptz[]) as v(patient_rid, via_rid, kind, ended) " +
                    $"left join lateral (select 'Organization/' || r.target_id as institution from {S}.ix_reference r where r.rid = v.via_rid " +
                    "and r.param = 'organization' and r.rtype = 'PractitionerRole' and r.target_type = 'Organization' " +
                    $"and not exists (select 1 from {S}.ix_token a where a.rid = v.via_rid and a.param = 'active' and a.code = 'false') limit 1) o on true",
                    rid, roles.Select(r => CompactKeys.Rid("Patient/" + r.PatientId)).ToArray(), roles.Select(r => CompactKeys.Rid("PractitionerRole/" + r.Role)).ToArray(),
                    roles.Select(r => r.Kind).ToArray(), roles.Select(r => r.Ended).ToArray());
            foreach (var d in CareRelationships.Denials(resource))
                ctes.Add($"insert into {S}.consent_denial (source_rid, patient_rid, institution, types, label, period_from, period_to) values (?, ?, ?, ?::text[], ?, ?::timestamptz, ?::timestamptz)",
                    rid, CompactKeys.Rid("Patient/" + d.PatientId), d.Institution, d.Types, d.Label, d.From, d.To);
        }

        // A PractitionerRole written (created, changed, deleted): the relationships made through it follow its organization.
        if (type == "PractitionerRole")
            ctes.Add($"update {S}.care_relationship set institution = ? where via_rid = ? and institution <> ?",
                CareRelationships.RoleInstitution(resource), rid, CareRelationships.RoleInstitution(resource));

        if (rows is not null)
        {
            if (MeasureFacts.Insert(key, type, rid, rows) is { } fact) ctes.Add(fact.Sql, fact.Args);
            _indexed.Add((rid, type, rows));
        }
        if (!ctes.IsEmpty) _derived.Add(ctes);
    }

    /// <summary>Queues what <see cref="Replace"/> collected into <paramref name="session"/>, and starts over.</summary>
    public void Flush(IDocumentSession session)
    {
        var ctes = new IndexWriter.Ctes();
        if (_replaced.Count > 0)
        {
            var rids = _replaced.ToArray();
            foreach (var table in SearchSchema.Tables) ctes.Add($"delete from {S}.{table} where rid = any(?::bigint[])", rids);
        }
        IndexWriter.InsertRows(ctes, _indexed);
        if (_indexed.Count > 0)
            ctes.Add($"insert into {S}.ix_text (rid, rtype, narrative, content) " +
                "select r, t, to_tsvector('simple', n), to_tsvector('simple', c) from unnest(?::bigint[], ?::text[], ?::text[], ?::text[]) as u(r, t, n, c)",
                _indexed.Select(i => i.Rid).ToArray(), _indexed.Select(i => i.Type).ToArray(),
                _indexed.Select(i => IndexText.Bound(i.Rows.Narrative, Errors.Limits.IndexedFullText)).ToArray(),
                _indexed.Select(i => IndexText.Bound(i.Rows.Content, Errors.Limits.IndexedFullText)).ToArray());
        ctes.Queue(session);
        foreach (var derived in _derived) derived.Queue(session);
        _indexed.Clear();
        _replaced.Clear();
        _derived.Clear();
    }
}

/// <summary>The statements that write index rows: a batch's (<see cref="IndexQueue"/>) and one parameter's (a backfill).</summary>
public static class IndexWriter
{
    private const string S = StorageSetup.Schema;

    /// <summary>
    /// Replaces the rows of one parameter of a resource, leaving the others (a parameter defined at run time, indexed
    /// for the resources stored before it: Storage/Reindexer). <paramref name="rows"/> holds that parameter's values only.
    /// </summary>
    public static void QueueParameter(IDocumentSession session, string key, string type, string table, string param, IndexRows rows)
    {
        var rid = CompactKeys.Rid(key);
        var ctes = new Ctes();
        ctes.Add($"delete from {S}.{table} where rid = ? and rtype = ? and param = ?", rid, type, param);
        InsertRows(ctes, [(rid, type, rows)]);
        ctes.Queue(session);
    }

    // The rows of the parameter tables (all but the full text) of every item, one data-modifying CTE per table that has rows.
    internal static void InsertRows(Ctes ctes, IReadOnlyList<(long Rid, string Type, IndexRows Rows)> items)
    {
        var strings = Flat(items, r => r.Strings);
        if (strings.Count > 0)
            ctes.Add($"insert into {S}.ix_string (rid, rtype, param, value, exact) select * from unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[])",
                Rids(strings), Types(strings), strings.Select(x => x.Row.Param).ToArray(), Bound(strings.Select(x => x.Row.Value)), Bound(strings.Select(x => x.Row.Exact)));
        var tokens = Flat(items, r => r.Tokens);
        if (tokens.Count > 0)
            ctes.Add($"insert into {S}.ix_token (rid, rtype, param, system, code, text, type_key) select * from unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])",
                Rids(tokens), Types(tokens), tokens.Select(x => x.Row.Param).ToArray(), Bound(tokens.Select(x => x.Row.System)), Bound(tokens.Select(x => x.Row.Code)),
                Bound(tokens.Select(x => x.Row.Text)), Bound(tokens.Select(x => x.Row.TypeKey)));
        var dates = Flat(items, r => r.Dates);
        if (dates.Count > 0)
            ctes.Add($"insert into {S}.ix_date (rid, rtype, param, lo, hi) select * from unnest(?::bigint[], ?::text[], ?::text[], ?::timestamptz[], ?::timestamptz[])",
                Rids(dates), Types(dates), dates.Select(x => x.Row.Param).ToArray(), dates.Select(x => x.Row.Lo).ToArray(), dates.Select(x => x.Row.Hi).ToArray());
        var numbers = Flat(items, r => r.Numbers);
        if (numbers.Count > 0)
            ctes.Add($"insert into {S}.ix_number (rid, rtype, param, value) select * from unnest(?::bigint[], ?::text[], ?::text[], ?::numeric[])",
                Rids(numbers), Types(numbers), numbers.Select(x => x.Row.Param).ToArray(), numbers.Select(x => x.Row.Value).ToArray());
        var quantities = Flat(items, r => r.Quantities);
        if (quantities.Count > 0)
            ctes.Add($"insert into {S}.ix_quantity (rid, rtype, param, system, code, unit, value, canon_code, canon_value) select * from unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::numeric[], ?::text[], ?::numeric[])",
                Rids(quantities), Types(quantities), quantities.Select(x => x.Row.Param).ToArray(), Bound(quantities.Select(x => x.Row.System)), Bound(quantities.Select(x => x.Row.Code)),
                Bound(quantities.Select(x => x.Row.Unit)), quantities.Select(x => x.Row.Value).ToArray(),
                Bound(quantities.Select(x => x.Row.CanonCode)), quantities.Select(x => x.Row.CanonValue).ToArray());
        var references = Flat(items, r => r.References);
        if (references.Count > 0)
            ctes.Add($"insert into {S}.ix_reference (rid, rtype, param, target_type, target_id, target_rid, url) select * from unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[])",
                Rids(references), Types(references), references.Select(x => x.Row.Param).ToArray(), Bound(references.Select(x => x.Row.TargetType)),
                Bound(references.Select(x => x.Row.TargetId)), references.Select(x => TargetRid(x.Row)).ToArray(), Bound(references.Select(x => x.Row.Url)));
        var uris = Flat(items, r => r.Uris);
        if (uris.Count > 0)
            ctes.Add($"insert into {S}.ix_uri (rid, rtype, param, value) select * from unnest(?::bigint[], ?::text[], ?::text[], ?::text[])",
                Rids(uris), Types(uris), uris.Select(x => x.Row.Param).ToArray(), Bound(uris.Select(x => x.Row.Value)));
        var composites = Flat(items, r => r.Composites);
        if (composites.Count > 0)
            ctes.Add($"insert into {S}.ix_composite (rid, rtype, param, system, code, v_system, v_code, v_number, v_lo, v_hi, v_text, v_canon_code, v_canon_number) " +
                "select * from unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::numeric[], ?::timestamptz[], ?::timestamptz[], ?::text[], ?::text[], ?::numeric[])",
                Rids(composites), Types(composites), composites.Select(x => x.Row.Param).ToArray(), Bound(composites.Select(x => x.Row.System)), Bound(composites.Select(x => x.Row.Code)),
                Bound(composites.Select(x => x.Row.ValueSystem)), Bound(composites.Select(x => x.Row.ValueCode)), composites.Select(x => x.Row.Number).ToArray(),
                composites.Select(x => x.Row.Lo).ToArray(), composites.Select(x => x.Row.Hi).ToArray(), Bound(composites.Select(x => x.Row.Text)),
                Bound(composites.Select(x => x.Row.CanonCode)), composites.Select(x => x.Row.CanonNumber).ToArray());
    }

    // One table's rows of every item, each with its resource's compact key and type.
    private static List<(long Rid, string Type, T Row)> Flat<T>(IReadOnlyList<(long Rid, string Type, IndexRows Rows)> items, Func<IndexRows, List<T>> rows) =>
        [.. items.SelectMany(i => rows(i.Rows).Select(r => (i.Rid, i.Type, r)))];

    private static long[] Rids<T>(List<(long Rid, string Type, T Row)> rows) => rows.Select(r => r.Rid).ToArray();
    private static string[] Types<T>(List<(long Rid, string Type, T Row)> rows) => rows.Select(r => r.Type).ToArray();

    // A local reference's target by its compact key (null for absolute URLs and contained references).
    private static long? TargetRid((string Param, string? TargetType, string? TargetId, string? Url) r) =>
        r.TargetType is null || r.TargetId is null ? null : CompactKeys.Rid(IndexText.Bound(r.TargetType) + "/" + IndexText.Bound(r.TargetId));

    private static string?[] Bound(IEnumerable<string?> values) => values.Select(v => IndexText.Bound(v)).ToArray();

    /// <summary>One statement of data-modifying CTEs (positional ? parameters), queued into the session as one command.</summary>
    internal sealed class Ctes
    {
        private readonly StringBuilder _sql = new("with ");
        private readonly List<object?> _args = [];
        private int _count;

        public bool IsEmpty => _count == 0;

        public void Add(string body, params object?[] values)
        {
            if (_count++ > 0) _sql.Append(", ");
            _sql.Append($"c{_count} as ({body})");
            _args.AddRange(values);
        }

        /// <summary>Queues the statement (nothing when no CTE was added).</summary>
        public void Queue(IDocumentSession session)
        {
            if (_count == 0) return;
            session.QueueSqlCommand(_sql.Append(" select 1").ToString(), _args.Select(a => a ?? DBNull.Value).ToArray());
        }
    }
}
