using Interop.Fhir.Indexing;
using System.Text;
using Marten;

namespace Interop.Fhir.Storage;

/// <summary>
/// Replaces a resource's index rows inside the Marten session's transaction: one SQL statement (data-modifying
/// CTEs, arrays unnested) so a write stays one round trip. The derived tables go in the same statement: care
/// relationships and consent denials (the access policy) and the indicators' facts (<see cref="MeasureFacts"/>).
/// Relationships made through a PractitionerRole read the role's organization in the same statement, and a role's
/// own write moves them to its new organization.
/// </summary>
public static class IndexWriter
{
    private const string S = StorageSetup.Schema;

    /// <param name="resource">The version being written (null for a delete): its care relationships and consent denials are derived too.</param>
    public static void QueueReplace(IDocumentSession session, string key, string type, IndexRows? rows, bool existed, Hl7.Fhir.Model.Resource? resource = null)
    {
        var rid = CompactKeys.Rid(key);
        var ctes = new Ctes();

        if (existed)
        {
            foreach (var table in SearchSchema.Tables) ctes.Add($"delete from {S}.{table} where rid = ?", rid);
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
            InsertRows(ctes, rid, type, rows);
            ctes.Add($"insert into {S}.ix_text (rid, rtype, narrative, content) values (?, ?, to_tsvector('simple', ?), to_tsvector('simple', ?))",
                rid, type, IndexText.Bound(rows.Narrative, Errors.Limits.IndexedFullText), IndexText.Bound(rows.Content, Errors.Limits.IndexedFullText));
        }
        ctes.Queue(session);
    }

    /// <summary>
    /// Replaces the rows of one parameter of a resource, leaving the others (a parameter defined at run time, indexed
    /// for the resources stored before it: Storage/Reindexer). <paramref name="rows"/> holds that parameter's values only.
    /// </summary>
    public static void QueueParameter(IDocumentSession session, string key, string type, string table, string param, IndexRows rows)
    {
        var rid = CompactKeys.Rid(key);
        var ctes = new Ctes();
        ctes.Add($"delete from {S}.{table} where rid = ? and rtype = ? and param = ?", rid, type, param);
        InsertRows(ctes, rid, type, rows);
        ctes.Queue(session);
    }

    // The rows of the parameter tables (all but the full text), one data-modifying CTE per table that has rows.
    private static void InsertRows(Ctes ctes, long rid, string type, IndexRows rows)
    {
        {
            if (rows.Strings.Count > 0)
                ctes.Add($"insert into {S}.ix_string (rid, rtype, param, value, exact) select ?, ?, * from unnest(?::text[], ?::text[], ?::text[])",
                    rid, type, rows.Strings.Select(r => r.Param).ToArray(), Bound(rows.Strings.Select(r => r.Value)), Bound(rows.Strings.Select(r => r.Exact)));
            if (rows.Tokens.Count > 0)
                ctes.Add($"insert into {S}.ix_token (rid, rtype, param, system, code, text, type_key) select ?, ?, * from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[])",
                    rid, type, rows.Tokens.Select(r => r.Param).ToArray(), Bound(rows.Tokens.Select(r => r.System)), Bound(rows.Tokens.Select(r => r.Code)),
                    Bound(rows.Tokens.Select(r => r.Text)), Bound(rows.Tokens.Select(r => r.TypeKey)));
            if (rows.Dates.Count > 0)
                ctes.Add($"insert into {S}.ix_date (rid, rtype, param, lo, hi) select ?, ?, * from unnest(?::text[], ?::timestamptz[], ?::timestamptz[])",
                    rid, type, rows.Dates.Select(r => r.Param).ToArray(), rows.Dates.Select(r => r.Lo).ToArray(), rows.Dates.Select(r => r.Hi).ToArray());
            if (rows.Numbers.Count > 0)
                ctes.Add($"insert into {S}.ix_number (rid, rtype, param, value) select ?, ?, * from unnest(?::text[], ?::numeric[])",
                    rid, type, rows.Numbers.Select(r => r.Param).ToArray(), rows.Numbers.Select(r => r.Value).ToArray());
            if (rows.Quantities.Count > 0)
                ctes.Add($"insert into {S}.ix_quantity (rid, rtype, param, system, code, unit, value, canon_code, canon_value) select ?, ?, * from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::numeric[], ?::text[], ?::numeric[])",
                    rid, type, rows.Quantities.Select(r => r.Param).ToArray(), Bound(rows.Quantities.Select(r => r.System)), Bound(rows.Quantities.Select(r => r.Code)),
                    Bound(rows.Quantities.Select(r => r.Unit)), rows.Quantities.Select(r => r.Value).ToArray(),
                    Bound(rows.Quantities.Select(r => r.CanonCode)), rows.Quantities.Select(r => r.CanonValue).ToArray());
            if (rows.References.Count > 0)
                ctes.Add($"insert into {S}.ix_reference (rid, rtype, param, target_type, target_id, target_rid, url) select ?, ?, * from unnest(?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[])",
                    rid, type, rows.References.Select(r => r.Param).ToArray(), Bound(rows.References.Select(r => r.TargetType)),
                    Bound(rows.References.Select(r => r.TargetId)), rows.References.Select(TargetRid).ToArray(), Bound(rows.References.Select(r => r.Url)));
            if (rows.Uris.Count > 0)
                ctes.Add($"insert into {S}.ix_uri (rid, rtype, param, value) select ?, ?, * from unnest(?::text[], ?::text[])",
                    rid, type, rows.Uris.Select(r => r.Param).ToArray(), Bound(rows.Uris.Select(r => r.Value)));
            if (rows.Composites.Count > 0)
                ctes.Add($"insert into {S}.ix_composite (rid, rtype, param, system, code, v_system, v_code, v_number, v_lo, v_hi, v_text, v_canon_code, v_canon_number) " +
                    "select ?, ?, * from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::numeric[], ?::timestamptz[], ?::timestamptz[], ?::text[], ?::text[], ?::numeric[])",
                    rid, type, rows.Composites.Select(r => r.Param).ToArray(), Bound(rows.Composites.Select(r => r.System)), Bound(rows.Composites.Select(r => r.Code)),
                    Bound(rows.Composites.Select(r => r.ValueSystem)), Bound(rows.Composites.Select(r => r.ValueCode)), rows.Composites.Select(r => r.Number).ToArray(),
                    rows.Composites.Select(r => r.Lo).ToArray(), rows.Composites.Select(r => r.Hi).ToArray(), Bound(rows.Composites.Select(r => r.Text)),
                    Bound(rows.Composites.Select(r => r.CanonCode)), rows.Composites.Select(r => r.CanonNumber).ToArray());
        }
    }

    // A local reference's target by its compact key (null for absolute URLs and contained references).
    private static long? TargetRid((string Param, string? TargetType, string? TargetId, string? Url) r) =>
        r.TargetType is null || r.TargetId is null ? null : CompactKeys.Rid(IndexText.Bound(r.TargetType) + "/" + IndexText.Bound(r.TargetId));

    private static string?[] Bound(IEnumerable<string?> values) => values.Select(v => IndexText.Bound(v)).ToArray();

    /// <summary>One statement of data-modifying CTEs (positional ? parameters), queued into the session as one command.</summary>
    private sealed class Ctes
    {
        private readonly StringBuilder _sql = new("with ");
        private readonly List<object?> _args = [];
        private int _count;

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
