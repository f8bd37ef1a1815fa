namespace Interop.Fhir.Measures;

/// <summary>The indicators of the referral gateway and of risk stratification.</summary>
public static class ReferralIndicators
{
    private static readonly Stratifier Institution = new("institution", "org"), Month = new("month", "month");

    /// <summary>
    /// referrals: residents' referrals (ServiceRequest with the referral-direction extension, authoredOn in the period,
    /// not entered in error), up and down, per month of authoredOn and per institution; and the time to accept: for each
    /// referral task (Task based on such a referral, authoredOn in the period) that was accepted, the hours from its
    /// authoredOn to its task-accepted time — the median, per month of the task's authoredOn, per direction and institution.
    /// </summary>
    public static readonly Indicator Referrals = new("referrals",
    [
        new(IndicatorSql.Common + $"""
            , referrals as (
              select dir.code as direction, r.subject, r.org, {IndicatorSql.Month("au.lo")} as month
              from fhir.ix_token dir
              join fhir.ix_date au on au.rid = dir.rid and au.rtype = 'ServiceRequest' and au.param = 'authored' and au.lo >= @lo and au.lo < @hi
              join fhir.ix_reference su on su.rid = dir.rid and su.rtype = 'ServiceRequest' and su.param = 'subject'
              join residents r on r.rid = su.target_rid
              where dir.rtype = 'ServiceRequest' and dir.param = 'referral-direction' and dir.code in ('up', 'down')
                and not exists (select 1 from fhir.ix_token s where s.rid = dir.rid and s.rtype = 'ServiceRequest' and s.param = 'status' and s.code = 'entered-in-error')
            )
            """, "count(*) filter (where direction = 'up') as up, count(*) filter (where direction = 'down') as down", "from referrals", "subject",
            [Month, Institution],
        [
            new GroupDefinition("up", "cohort", [new("initial-population", "up")]),
            new GroupDefinition("down", "cohort", [new("initial-population", "down")]),
        ]),
        new(IndicatorSql.Common + $"""
            , accepted as (
              select dir.code as direction, r.subject, r.org, {IndicatorSql.Month("au.lo")} as month, extract(epoch from ac.lo - au.lo) / 3600.0 as hours
              from fhir.ix_date ac
              join fhir.ix_date au on au.rid = ac.rid and au.rtype = 'Task' and au.param = 'authored-on' and au.lo >= @lo and au.lo < @hi
              join fhir.ix_reference b on b.rid = ac.rid and b.rtype = 'Task' and b.param = 'based-on' and b.target_type = 'ServiceRequest'
              join fhir.ix_token dir on dir.rid = b.target_rid and dir.rtype = 'ServiceRequest' and dir.param = 'referral-direction'
              join fhir.ix_reference su on su.rid = b.target_rid and su.rtype = 'ServiceRequest' and su.param = 'subject'
              join residents r on r.rid = su.target_rid
              where ac.rtype = 'Task' and ac.param = 'accepted'
            )
            """, "count(*) as accepted, percentile_cont(0.5) within group (order by hours) as median", "from accepted", "subject",
            [Month, new Stratifier("direction", "direction"), Institution],
        [
            new GroupDefinition("time-to-accept", "continuous-variable",
                [new("initial-population", "accepted"), new("measure-population", "accepted"), new("measure-observation", "accepted")], "median", "h"),
        ]),
    ]);

    /// <summary>
    /// high-risk-care-plan: residents whose latest final RiskAssessment dated in the period (by occurrence, then key)
    /// predicts a qualitativeRisk of high (risk-probability) (denominator), who have an active CarePlan about them (numerator).
    /// </summary>
    public static readonly Indicator HighRiskCarePlan = new("high-risk-care-plan",
    [
        new(IndicatorSql.Common + $"""
            , latest as (
              select distinct on (s.target_rid) s.target_rid as patient, s.rid
              from fhir.ix_reference s
              join fhir.ix_token st on st.rid = s.rid and st.rtype = 'RiskAssessment' and st.param = 'status' and st.code = 'final'
              join fhir.ix_date d on d.rid = s.rid and d.rtype = 'RiskAssessment' and d.param = 'date' and d.lo >= @lo and d.lo < @hi
              where s.rtype = 'RiskAssessment' and s.param = 'subject' and s.target_type = 'Patient'
              order by s.target_rid, d.lo desc, s.rid desc
            ),
            high as (
              select r.subject, r.org, exists (select 1 from fhir.ix_reference c
                                    join fhir.ix_token cs on cs.rid = c.rid and cs.rtype = 'CarePlan' and cs.param = 'status' and cs.code = 'active'
                                    where c.rtype = 'CarePlan' and c.param = 'subject' and c.target_rid = l.patient) as planned
              from latest l join residents r on r.rid = l.patient
              where exists (select 1 from fhir.ix_token k where k.rid = l.rid and k.rtype = 'RiskAssessment' and k.param = 'risk'
                            and k.system = '{IndicatorSql.RiskProbability}' and k.code = 'high')
            )
            """, "count(*) as denominator, count(*) filter (where planned) as numerator", "from high", "subject", [Institution],
        [
            new GroupDefinition("planned", "proportion", [new("initial-population", "denominator"), new("denominator", "denominator"), new("numerator", "numerator")]),
        ]),
    ]);
}
