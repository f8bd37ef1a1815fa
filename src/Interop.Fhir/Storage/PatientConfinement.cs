namespace Interop.Fhir.Storage;

/// <summary>
/// One patient's compartment, as a patient-scoped token (SMART patient/ scopes) sees the data: resources of the
/// compartment's types only where one of their compartment references points at the patient (the patient itself
/// by identity), and resources of every other type (practitioners, organisations, medications...) as they are.
/// Searches, includes and history add <see cref="Condition"/> to their SQL, so paging and totals stay right.
/// </summary>
/// <param name="Members">For each type in the compartment, its reference parameters that put a resource in it.</param>
public sealed record PatientConfinement(string PatientId, IReadOnlyDictionary<string, string[]> Members)
{
    public string PatientKey => "Patient/" + PatientId;
    public long PatientRid => CompactKeys.Rid(PatientKey);

    /// <summary>Whether resources of this type belong to patients (and so are confined).</summary>
    public bool Confines(string type) => type == "Patient" || Members.ContainsKey(type);

    private string[] Types => [.. Members.Keys.Append("Patient").Distinct()];
    private string[] Pairs => [.. Members.SelectMany(m => m.Value.Select(p => $"{m.Key}.{p}"))];

    /// <summary>
    /// SQL: the row (its type column and compact key expression) is of a type outside the compartment, is the
    /// patient, or references the patient through one of its type's compartment parameters.
    /// </summary>
    public string Condition(string typeColumn, string ridExpression, Func<object, string> add) =>
        $"({typeColumn} <> all({add(Types)}) or {ridExpression} = {add(PatientRid)} or exists (select 1 from {StorageSetup.Schema}.ix_reference c " +
        $"where c.rid = {ridExpression} and c.target_rid = {add(PatientRid)} and c.rtype || '.' || c.param = any({add(Pairs)})))";
}
