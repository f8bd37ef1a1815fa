using Interop.Fhir.Indexing;
using Marten;

namespace Interop.Fhir.Storage;

/// <summary>
/// Replaces resources' index rows inside the Marten session's transaction. A batch's resources (a transaction bundle,
/// an import chunk, a reindex batch) share one SQL statement of data-modifying CTEs, one per index table, the rows of
/// every resource unnested from arrays, so a write stays one round trip and a bundle of 300 resources is one statement,
/// not 300. The derived tables follow in a statement per resource that has rows in them: care relationships and consent
/// denials (the access policy) and the indicators' facts (<see cref="MeasureFacts"/>); for a single resource they
/// join the one statement. They run after the index rows,
/// so a relationship made through a PractitionerRole reads the role's organization from its index rows even when the
/// role is written in the same batch, and a role's own write moves them to its new organization.
/// </summary>
public sealed class IndexQueue
{
    private const string S = StorageSetup.Schema;

    private readonly List<(long Rid, string Type, IndexRows Rows)> _indexed = [];
    private readonly List<long> _replaced = [];
    private readonly List<IndexWriter.Ctes> _derived = [];
    private int _resources;

    /// <summary>Queues the replacement of a resource's rows: deleted when it <paramref name="existed"/>, then <paramref name="rows"/> (null for a delete).</summary>
    /// <param name="resource">The version being written (null for a delete): its care relationships and consent denials are derived too.</param>
    public void Replace(string key, string type, IndexRows? rows, bool existed, Hl7.Fhir.Model.Resource? resource = null)
    {
        var rid = CompactKeys.Rid(key);
        var ctes = new IndexWriter.Ctes();
        _resources++;
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
        {
            var institution = CareRelationships.RoleInstitution(resource);
            ctes.Add($"update {S}.care_relationship set institution = ? where via_rid = ? and institution <> ?", institution, rid, institution);
        }

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
        // One resource (a single create, update or delete): its derived rows join the same statement, so a single
        // write stays one statement; there is no other resource whose index rows they could need to see first.
        if (_resources == 1) foreach (var derived in _derived) ctes.Add(derived);
        ctes.Queue(session);
        if (_resources > 1) foreach (var derived in _derived) derived.Queue(session);
        _resources = 0;
        _indexed.Clear();
        _replaced.Clear();
        _derived.Clear();
    }
}
