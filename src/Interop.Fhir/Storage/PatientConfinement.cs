namespace Interop.Fhir.Storage;

/// <summary>
/// One patient's compartment, as a patient-scoped token (SMART patient/ scopes) sees the data: resources of the
/// compartment's types only where one of their compartment references points at the patient (the patient itself
/// by identity), and resources of every other type (practitioners, organisations, medications...) as they are,
/// but for Subscriptions (an institution's endpoints and keys), which no patient-scoped token sees.
/// Searches, includes and history add <see cref="Condition"/> to their SQL, so paging and totals stay right.
/// </summary>
/// <param name="Members">For each type in the compartment, its reference parameters that put a resource in it.</param>
public sealed record PatientConfinement(string PatientId, IReadOnlyDictionary<string, string[]> Members)
{
    public string PatientKey => "Patient/" + PatientId;
    public long PatientRid => CompactKeys.Rid(PatientKey);

    /// <summary>Whether resources of this type belong to patients (and so are confined).</summary>
    public bool Confines(string type) => type is "Patient" or "Subscription" || Members.ContainsKey(type);

    private CompartmentSql Compartment => CompartmentSql.Of(Members);

    /// <summary>
    /// SQL: the row (its type column and compact key expression) is of a type outside the compartment, is the
    /// patient, or references the patient through one of its type's compartment parameters.
    /// </summary>
    public string Condition(string typeColumn, string ridExpression, Func<object, string> add) =>
        $"(({typeColumn} <> all({Compartment.Types}) and {typeColumn} <> 'Subscription') or {ridExpression} = {add(PatientRid)} or exists (select 1 from {StorageSetup.Schema}.ix_reference c " +
        $"where c.rid = {ridExpression} and c.target_rid = {add(PatientRid)} and c.rtype || '.' || c.param = any({Compartment.Pairs})))";
}

/// <summary>
/// The compartment's types and "Type.param" pairs as SQL array literals, made once per definition: they are the
/// server's constants (resource type and parameter names), not input, so they go in the statement's text and
/// its prepared plan instead of travelling as two large array parameters with every read.
/// </summary>
internal sealed record CompartmentSql(string Types, string Pairs)
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IReadOnlyDictionary<string, string[]>, CompartmentSql> Cache = new();

    public static CompartmentSql Of(IReadOnlyDictionary<string, string[]> members) => Cache.GetValue(members, m =>
        new CompartmentSql(
            Literal(m.Keys.Append("Patient").Distinct()),
            Literal(m.SelectMany(e => e.Value.Select(p => $"{e.Key}.{p}")))));

    public static string Literal(IEnumerable<string> names)
    {
        var list = names.ToList();
        if (list.Any(n => !n.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-')))
            throw new ArgumentException("Compartment names must be resource type and parameter names.");
        return $"'{{{string.Join(',', list)}}}'::text[]";
    }
}
