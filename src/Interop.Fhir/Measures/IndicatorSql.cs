namespace Interop.Fhir.Measures;

/// <summary>
/// The SQL every indicator starts from, over the index tables and the indicators' narrow facts derived from them on
/// write (Storage/MeasureFacts; rows exist only for live current versions):
/// <c>scope</c>, the reporter and the institutions under it (Organization.partOf, recursively); <c>residents</c>,
/// every live Patient (its key, e.g. Patient/x, as subject) with the institution that manages it (Patient.managingOrganization, "none" without one) — with a
/// reporter only those managed inside its scope; <c>tree</c>, the group: the Organizations of institution-kind
/// "group" and everything partOf them, recursively.
/// </summary>
public static class IndicatorSql
{
    public const string EpisodeType = "https://interop.example/fhir/CodeSystem/episode-type";
    public const string RiskProbability = "http://terminology.hl7.org/CodeSystem/risk-probability";

    /// <summary>The common table expressions (a WITH RECURSIVE clause without its last comma).</summary>
    public const string Common = """
        with recursive scope(rid) as (
          select @reporter::bigint where @reporter::bigint is not null
          union
          select r.rid from fhir.ix_reference r join scope s on r.target_rid = s.rid where r.rtype = 'Organization' and r.param = 'partof'
        ),
        tree(rid) as (
          select t.rid from fhir.ix_token t where t.rtype = 'Organization' and t.param = 'institution-kind' and t.code = 'group'
          union
          select r.rid from fhir.ix_reference r join tree g on r.target_rid = g.rid where r.rtype = 'Organization' and r.param = 'partof'
        ),
        residents as (
          select m.rid, m.subject, m.org from fhir.measure_resident m
          where @reporter::bigint is null or m.org_rid in (select rid from scope)
        )
        """;

    /// <summary>
    /// EpisodeOfCare keys of a type (episode-type code) with one of the statuses, whose period overlaps [@lo, @hi), their
    /// patient and chronic conditions (system|code, null without any).
    /// </summary>
    public static string Episodes(string type, string statuses) => $"""
        select e.rid, e.patient_rid as patient, e.lo, e.hi, e.conditions
        from fhir.measure_episode e
        where e.type_system = '{EpisodeType}' and e.type_code = '{type}' and e.status in ({statuses}) and e.lo < @hi and e.hi > @lo
        """;

    /// <summary>A month of a timestamptz column, in UTC (YYYY-MM).</summary>
    public static string Month(string column) => $"to_char({column} at time zone 'UTC', 'YYYY-MM')";
}
