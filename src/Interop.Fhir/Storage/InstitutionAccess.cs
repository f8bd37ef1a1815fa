namespace Interop.Fhir.Storage;

/// <summary>
/// The group's access policy for one institution, as SQL on a resource row: data outside the patient
/// compartment, and data of its types that names no resident (a family-doctor team), is shared; a resident's
/// data is visible while the institution has a care relationship with the resident (open, or ended within the
/// window for referrals and encounters) that no active Consent of the resident denies for that data; and data
/// the institution wrote itself is always visible to it. A Subscription is visible to the institution that
/// wrote it only.
/// </summary>
/// <param name="Members">The patient compartment: type → its reference parameters that point at the patient.</param>
/// <param name="Since">Relationships of the kinds that last a window (referral, encounter) count if they ended after this.</param>
/// <param name="Days">The window in days (for the refusal's wording).</param>
public sealed record InstitutionAccess(string Institution, DateTimeOffset Since, int Days, IReadOnlyDictionary<string, string[]> Members)
{
    /// <summary>The 403 for a resource the institution may not see: why, and how to break the glass.</summary>
    public string Refusal(string key) =>
        $"{Institution} may not see {key}: it has no care relationship with this resident (an active EpisodeOfCare or CareTeam, a referral " +
        $"or an encounter within {Days} days), or the resident's consent refuses it. In an emergency, a user with the break-glass role may " +
        "send the header X-Break-Glass: <reason>; that access is recorded for review.";

    private const string S = StorageSetup.Schema;

    private CompartmentSql Compartment => CompartmentSql.Of(Members);

    public bool Governs(string type) => type is "Patient" or "Subscription" || Members.ContainsKey(type);

    /// <param name="data">The row's JSON document column (its writer's institution is recorded there).</param>
    public string Condition(string type, string rid, string data, Func<object, string> add)
    {
        var institution = add(Institution);
        // A Subscription (its endpoint and headers may hold keys) is its institution's only.
        return $"(({type} <> all({Compartment.Types}) and {type} <> 'Subscription') or {Wrote(data, institution)} " +
               $"or ({type} = 'Patient' and {LiveCares(rid, type, rid, institution, add)}) " +
               // The residents it names through the compartment's references, in one probe of its index rows: visible when
               // the institution cares for one of them. One that names no resident (a family-doctor team, a station's
               // schedule) is the directory's, shared like data outside the compartment (the aggregate of no rows is null).
               // As a scalar subquery the planner cannot hash it, which would read every compartment reference of the
               // database even under a LIMIT that stops after a few (it did for a `not exists`: 41 of a $changes page's 86 ms
               // at 49k resources); a page's hidden rows also took two probes of the same index rows before.
               $"or {NamesCared(rid, $"c.rtype || '.' || c.param = any({Compartment.Pairs})", LiveCares("c.target_rid", type, rid, institution, add), $"{type} <> all(array['Patient', 'Subscription'])")})";
    }

    /// <summary>
    /// <see cref="Condition"/> for rows of one type known when the statement is built (a search of one type, a chain's
    /// or a _has's hop): only the branches that type can take, and its own compartment parameters instead of all of
    /// them. The same rule; the planner plans much less of it for each search (measured on a station's search of one
    /// resident's Observations at 49k resources: 1.7–2.1 ms of planning with the general condition, 0.8–1.1 with this).
    /// </summary>
    public string ConditionFor(string knownType, string rid, string data, Func<object, string> add)
    {
        if (!Governs(knownType)) return "true"; // outside the compartment: shared
        var institution = add(Institution);
        var type = add(knownType);
        var parts = new List<string> { Wrote(data, institution) };
        if (knownType == "Patient") parts.Add(LiveCares(rid, type, rid, institution, add));
        var directory = knownType is not ("Patient" or "Subscription"); // naming no resident, it is shared
        if (Members.TryGetValue(knownType, out var parameters) && parameters.Length > 0)
            parts.Add(NamesCared(rid, $"c.param = any({CompartmentSql.Literal(parameters)})", LiveCares("c.target_rid", type, rid, institution, add), directory ? "true" : "false"));
        else if (directory) parts.Add("true");
        return "(" + string.Join(" or ", parts) + ")";
    }

    /// <summary>
    /// Of <paramref name="keys"/> (a select of live Patients' keys), those the institution may see: <see cref="ConditionFor"/>
    /// for Patient, asked as sets instead of row by row. The residents it cares for and those it wrote (migration 17's
    /// index) are each one set the planner may hash, so a chain's hop onto Patient (`Encounter?subject:Patient.family=Wang`,
    /// 1,181 Wangs among 10,000 residents, 44 of them the station's) reads no resource row of the residents it may not
    /// see: 13 → 2 ms there. Only where <see cref="PatientsAsSets"/>.
    /// </summary>
    public string VisiblePatients(string keys, Func<object, string> add)
    {
        if (!PatientsAsSets) throw new InvalidOperationException("The Patient is in its own compartment by references: VisiblePatients leaves them out.");
        var institution = add(Institution);
        return $"select k.rid from ({keys}) k(rid) where {InCaredSet("k.rid", "'Patient'", "k.rid", institution, add)} " +
               // Written as migration 17's partial index is: 'Patient' in the text, and the expression bare (not in coalesce).
               $"or k.rid in (select w.rid from {StorageSetup.CurrentTable} w where w.resource_type = 'Patient' and not w.deleted and w.data->>'Institution' = {institution})";
    }

    /// <summary>Whether <paramref name="parameter"/> is one of the type's references that put it in a resident's compartment.</summary>
    public bool NamesResident(string type, string parameter) => Members.TryGetValue(type, out var parameters) && parameters.Contains(parameter);

    /// <summary>
    /// <see cref="ConditionFor"/> of a source row of <paramref name="type"/> that names the resident <paramref name="patientRid"/>
    /// through one of its compartment references (<see cref="NamesResident"/>): visible when the institution cares for
    /// that resident and no consent closes the source to it (the resident's key against a set the planner may hash),
    /// and else by <paramref name="row"/>, the whole condition on the source's row. One cared-for resident named is
    /// enough for ConditionFor too, so the answer is the same; the row is read only for the others.
    /// </summary>
    public string VisibleThrough(string type, string sourceRid, string patientRid, string row, Func<object, string> add)
    {
        var institution = add(Institution);
        return $"({InCaredSet(patientRid, add(type), sourceRid, institution, add)} or {row})";
    }

    // LiveCares asked as a set: the resident's key among the institution's residents with an open relationship (one
    // index range the planner may hash, migration 12), and no consent closing the data to it.
    private string InCaredSet(string patientRid, string type, string rid, string institution, Func<object, string> add) =>
        $"({patientRid} in (select cr.patient_rid from {S}.care_relationship cr where cr.institution = {institution} and {Open("cr", add)}) " +
        $"and not {Denies(patientRid, type, rid, institution)})";

    /// <summary>Whether <see cref="VisiblePatients"/> is the rule for Patient: a Patient is in its own compartment by identity only (else ConditionFor adds its references).</summary>
    public bool PatientsAsSets => !Members.ContainsKey("Patient");

    // The pieces both live conditions are made of. Wrote: the row's writer is the institution.
    private static string Wrote(string data, string institution) => $"coalesce({data}->>'Institution' = {institution}, false)";

    // CaresFor a resident, the data's labels read from its index rows.
    private string LiveCares(string patientRid, string type, string rid, string institution, Func<object, string> add) =>
        $"{Cares(patientRid, institution, add)} and not {Denies(patientRid, type, rid, institution)}";

    // A care relationship with the resident, open or ended within the window.
    private string Cares(string patientRid, string institution, Func<object, string> add) =>
        $"exists (select 1 from {S}.care_relationship cr where cr.patient_rid = {patientRid} and cr.institution = {institution} and {Open("cr", add)})";

    private string Open(string cr, Func<object, string> add) => $"({cr}.ended is null or ({cr}.kind in ('referral', 'encounter') and {cr}.ended > {add(Since)}))";

    // Whether an active consent of the resident closes this data (its type, or a label its index rows carry) to the
    // institution. Written out, that subquery (with the labels' own) was about 0.4 ms of planning per use, on every
    // search, for a table that is nearly always empty: so a set of the residents with any denial for the institution
    // (one index range, evaluated once per statement) guards a function the planner does not plan (migration 13),
    // called only for those residents.
    private static string Denies(string patientRid, string type, string rid, string institution) =>
        $"({patientRid} = any(array(select d.patient_rid from {S}.consent_denial d where d.institution = {institution})) " +
        $"and {S}.consent_denies({institution}, {patientRid}, {type}, {rid}))";

    // Whether the row names a resident it cares for through its compartment references (pairs: which of its
    // references count), or, when it names none, the default.
    private static string NamesCared(string rid, string pairs, string cares, string none) =>
        $"coalesce((select bool_or({cares}) from {S}.ix_reference c where c.rid = {rid} and {pairs} and c.target_type = 'Patient'), {none})";

    /// <summary>
    /// The policy for a resource that is deleted now, whose index rows are gone: judged on its last live version's
    /// JSON. It is visible if its type is shared, if the institution wrote that version or the deletion, or if every
    /// resident the version refers to (any reference to a Patient, not only the compartment's: stricter, never looser)
    /// is one it cares for now and whose consent does not close that data (type, or a label of that version) to it.
    /// A deleted Patient is judged as the resident itself. A version with no JSON (never live) is not visible.
    /// </summary>
    /// <param name="rid">The resource's compact key.</param>
    /// <param name="data">The current (deleted) row's JSON document column: who deleted it.</param>
    /// <param name="last">The last live version's JSON document column.</param>
    public string DeletedCondition(string type, string rid, string data, string last, Func<object, string> add)
    {
        var institution = add(Institution);
        var json = $"({last}->>'Json')::jsonb";
        string Cares(string patientRid) => CaresFor(patientRid, type, institution, add,
            label => $"exists (select 1 from jsonb_path_query({json}, 'lax $.meta.security[*].code') l(code) where l.code #>> '{{}}' = {label})");
        var residents = $"select {S}.key_rid('Patient/' || m[1]) as rid from jsonb_path_query({json}, 'lax $.**.reference') ref(value) " +
                        $"cross join lateral regexp_match(ref.value #>> '{{}}', '(?:^|/)Patient/([A-Za-z0-9.-]{{1,64}})(?:/_history/[^/]*)?$') m where m is not null";
        return $"(({type} <> all({Compartment.Types}) and {type} <> 'Subscription') " +
               $"or coalesce({data}->>'Institution' = {institution}, false) or coalesce({last}->>'Institution' = {institution}, false) " +
               $"or ({type} <> 'Subscription' and {last}->>'Json' is not null and case when {type} = 'Patient' then {Cares(rid)} " +
               $"else not exists (select 1 from ({residents}) p where not ({Cares("p.rid")})) end))";
    }

    // A care relationship with the resident that no active consent of the resident denies for this type, or for a
    // label the data carries (labelled: the label column's test against the data's labels). The same rule as
    // consent_denies, written out: a deleted version's labels are in its JSON, not in index rows.
    private string CaresFor(string patientRid, string type, string institution, Func<object, string> add, Func<string, string> labelled) =>
        $"{Cares(patientRid, institution, add)}" +
        $" and not exists (select 1 from {S}.consent_denial d where d.patient_rid = {patientRid} and d.institution = {institution} " +
        $"and (d.types is null or {type} = any(d.types)) and (d.period_from is null or d.period_from <= now()) and (d.period_to is null or d.period_to > now()) " +
        $"and (d.label is null or {labelled("d.label")}))";

    /// <summary>Migration 13: the live consent check as a function (see <see cref="Denies"/>); its lookup by (patient, institution) is planned once per session.</summary>
    public const string DeniesDdl = $"""
        create or replace function {S}.consent_denies(institution text, patient bigint, data_type text, data_rid bigint) returns boolean
            language plpgsql stable parallel safe set plan_cache_mode = auto as $f$
        begin
            return exists (select 1 from {S}.consent_denial d where d.patient_rid = patient and d.institution = consent_denies.institution
                and (d.types is null or data_type = any(d.types)) and (d.period_from is null or d.period_from <= now()) and (d.period_to is null or d.period_to > now())
                and (d.label is null or exists (select 1 from {S}.ix_token l where l.rid = data_rid and l.param = '_security' and l.code = d.label)));
        end $f$;
        """;
}
