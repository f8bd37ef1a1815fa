namespace Interop.Fhir.Measures;

/// <summary>
/// The SQL every indicator starts from, over the index tables (rows exist only for live current versions):
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
          select d.rid, d.id as subject, coalesce(o.target_type || '/' || o.target_id, 'none') as org
          from fhir.mt_doc_resourcedoc d
          left join fhir.ix_reference o on o.rid = d.rid and o.rtype = 'Patient' and o.param = 'organization'
          where d.resource_type = 'Patient' and not d.deleted
            and (@reporter::bigint is null or o.target_rid in (select rid from scope))
        )
        """;

    /// <summary>EpisodeOfCare keys of a type (episode-type code) with one of the statuses, whose period overlaps [@lo, @hi), and their patient.</summary>
    public static string Episodes(string type, string statuses) => $"""
        select ty.rid, p.target_rid as patient, d.lo, d.hi
        from fhir.ix_token ty
        join fhir.ix_token st on st.rid = ty.rid and st.rtype = 'EpisodeOfCare' and st.param = 'status' and st.code in ({statuses})
        join fhir.ix_date d on d.rid = ty.rid and d.rtype = 'EpisodeOfCare' and d.param = 'date' and d.lo < @hi and d.hi > @lo
        join fhir.ix_reference p on p.rid = ty.rid and p.rtype = 'EpisodeOfCare' and p.param = 'patient'
        where ty.rtype = 'EpisodeOfCare' and ty.param = 'type' and ty.system = '{EpisodeType}' and ty.code = '{type}'
        """;

    /// <summary>A month of a timestamptz column, in UTC (YYYY-MM).</summary>
    public static string Month(string column) => $"to_char({column} at time zone 'UTC', 'YYYY-MM')";
}
