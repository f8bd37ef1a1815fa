namespace Interop.Fhir.Measures;

/// <summary>The indicators about residents: contracted share, care inside the group, case management.</summary>
public static class ResidentIndicators
{
    private static readonly Stratifier Institution = new("institution", "org");

    private static GroupDefinition Proportion(string code, string numerator) =>
        new(code, "proportion", [new("initial-population", "denominator"), new("denominator", "denominator"), new("numerator", numerator)]);

    /// <summary>
    /// contracted-share: residents (denominator) holding a family-doctor contract (an EpisodeOfCare of type
    /// family-doctor-contract, status active or finished — it was in force — whose period overlaps the period) (numerator).
    /// </summary>
    public static readonly Indicator ContractedShare = new("contracted-share",
    [
        new(IndicatorSql.Common + $"""
            , contracted as (select distinct e.patient from ({IndicatorSql.Episodes("family-doctor-contract", "'active', 'finished'")}) e)
            """, "count(*) as denominator, count(c.patient) as numerator", "from residents r left join contracted c on c.patient = r.rid", "r.subject",
            [Institution], [Proportion("contracted", "numerator")]),
    ]);

    /// <summary>
    /// care-inside-group: residents' encounters (subject a resident, period overlapping the period, not planned,
    /// cancelled or entered in error) provided inside the group (serviceProvider in the group's tree) and outside it
    /// (another provider, or none recorded). Both groups share the denominator.
    /// </summary>
    public static readonly Indicator CareInsideGroup = new("care-inside-group",
    [
        new(IndicatorSql.Common + $"""
            , encounters as (
              select r.subject, r.org, e.month, e.provider, coalesce(e.provider_rid in (select rid from tree), false) as inside
              from fhir.measure_encounter e
              join residents r on r.rid = e.patient_rid
              where e.lo < @hi and e.hi > @lo
            )
            """, "count(*) as denominator, count(*) filter (where inside) as inside, count(*) filter (where not inside) as outside", "from encounters", "subject",
            [Institution, new Stratifier("month", "month"), new Stratifier("provider", "provider")], [Proportion("inside", "inside"), Proportion("outside", "outside")]),
    ]);

    /// <summary>
    /// case-management: residents under case management (an EpisodeOfCare of type case-management, status active,
    /// on hold or finished, with the chronic-condition extension, overlapping the period), each counted once per
    /// stratum: by condition (system|code), by calendar year of the period the episode overlaps, by both, by institution.
    /// </summary>
    public static readonly Indicator CaseManagement = new("case-management",
    [
        new(IndicatorSql.Common + $"""
            , episodes as (
              select e.patient, r.subject, r.org, cc.condition, e.lo, e.hi
              from ({IndicatorSql.Episodes("case-management", "'active', 'onhold', 'finished'")}) e
              cross join lateral unnest(e.conditions) cc(condition)
              join residents r on r.rid = e.patient
            ),
            years as (
              select y::text as year, greatest(make_timestamptz(y, 1, 1, 0, 0, 0, 'UTC'), @lo) as ylo, least(make_timestamptz(y + 1, 1, 1, 0, 0, 0, 'UTC'), @hi) as yhi
              from generate_series(extract(year from @lo at time zone 'UTC')::int, extract(year from (@hi - interval '1 microsecond') at time zone 'UTC')::int) y
            )
            """, "count(distinct e.patient) as managed", "from episodes e join years on e.lo < years.yhi and e.hi > years.ylo", "e.subject",
            [new Stratifier("condition", "condition"), new Stratifier("year", "year"), new Stratifier("condition-year", "condition", "year"), Institution],
            [new GroupDefinition("managed", "cohort", [new("initial-population", "managed")])]),
    ]);
}
