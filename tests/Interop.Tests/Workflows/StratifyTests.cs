using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Workflows;

/// <summary>
/// $stratify on a hand-built station of four residents whose levels are known (low, moderate, high twice), the
/// data that does not count (a station admission, an outpatient hospital visit, an admission two years ago, an
/// inactive or non-chronic condition), the group-wide summary limited to the station, the worklist of high-risk
/// residents without an active care plan, and the access policy.
/// </summary>
public sealed class StratifyTests(GroupWorld world) : IClassFixture<GroupWorld>
{
    private const string ActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

    private async Task<string> Resident(string station, string gp, string team, string? birthDate = null)
    {
        var id = await world.Admin.CreateId(new Patient { Name = [new HumanName { Family = "Risk" }], BirthDate = birthDate });
        await world.Admin.CreateId(world.Contract(id, gp, team, station));
        return id;
    }

    private Task<string> Bp(string patient, decimal systolic, int daysAgo) => world.Admin.CreateId(new Observation
    {
        Status = ObservationStatus.Final, Code = new CodeableConcept(CareData.Loinc, "85354-9"), Subject = GroupWorld.Ref("Patient", patient),
        Effective = new FhirDateTime(DateTimeOffset.UtcNow.AddDays(-daysAgo)),
        Component = [new Observation.ComponentComponent { Code = new CodeableConcept(CareData.Loinc, "8480-6"), Value = new Quantity(systolic, "mm[Hg]") }],
    });

    private Task<string> HbA1c(string patient, decimal percent) => world.Admin.CreateId(new Observation
    {
        Status = ObservationStatus.Final, Code = new CodeableConcept(CareData.Loinc, "4548-4"), Subject = GroupWorld.Ref("Patient", patient),
        Effective = new FhirDateTime(DateTimeOffset.UtcNow.AddDays(-10)), Value = new Quantity(percent, "%"),
    });

    private Task<string> Encounter(string patient, string @class, string provider, int daysAgo) => world.Admin.CreateId(new Encounter
    {
        Status = Hl7.Fhir.Model.Encounter.EncounterStatus.Finished, Class = new Coding(ActCode, @class), Subject = GroupWorld.Ref("Patient", patient),
        ServiceProvider = GroupWorld.Ref("Organization", provider),
        Period = new Period { Start = DateTimeOffset.UtcNow.AddDays(-daysAgo).ToString("yyyy-MM-dd"), End = DateTimeOffset.UtcNow.AddDays(-daysAgo + 3).ToString("yyyy-MM-dd") },
    });

    [Fact]
    public async Task Four_engineered_residents_get_their_known_levels_and_the_worklist_finds_the_uncared_high_risk_one()
    {
        var station = await world.Admin.CreateId(new Organization { Name = "Risk station", Type = [new CodeableConcept(GroupWorld.Kind, "station")], PartOf = GroupWorld.Ref("Organization", world.Hospital) });
        var gp = await world.Admin.CreateId(new Practitioner { Name = [new HumanName { Family = "Risk GP" }] });
        var team = await world.Admin.CreateId(new CareTeam
        {
            Status = CareTeam.CareTeamStatus.Active, ManagingOrganization = [GroupWorld.Ref("Organization", station)],
            Participant = [new CareTeam.ParticipantComponent { Role = [new CodeableConcept(GroupWorld.TeamRole, "gp-leader")], Member = GroupWorld.Ref("Practitioner", gp) }],
        });
        // low: a non-chronic and an inactive chronic condition, normal pressure
        var low = await Resident(station, gp, team, "1980-05-01");
        await world.Admin.CreateId(CareData.Condition(low, CareData.Snomed, "195967001", "Asthma"));
        await world.Admin.CreateId(CareData.Condition(low, CareData.Snomed, "59621000", "Essential hypertension", clinical: "resolved"));
        await Bp(low, 128, 30);
        // moderate: 2 chronic conditions + systolic 150 (the older 190 is not the latest) = 3
        var moderate = await Resident(station, gp, team, "1970-01-01");
        await world.Admin.CreateId(CareData.Hypertension(moderate));
        await world.Admin.CreateId(CareData.Diabetes(moderate));
        await Bp(moderate, 190, 200);
        await Bp(moderate, 150, 20);
        // high: 2 conditions + systolic 170 (2) + HbA1c 9.5 (2) + one hospital admission (1) = 7
        var high = await Resident(station, gp, team, "1960-01-01");
        await world.Admin.CreateId(CareData.Hypertension(high));
        await world.Admin.CreateId(CareData.Diabetes(high));
        await Bp(high, 170, 5);
        await HbA1c(high, 9.5m);
        var admission = await Encounter(high, "IMP", world.Hospital, 40);
        // high: age ≥ 75 (2) + 1 condition (1) + 2 admissions (2) = 5; a station admission, an outpatient hospital visit and an old admission do not count
        var old = await Resident(station, gp, team, DateTimeOffset.UtcNow.AddYears(-80).ToString("yyyy-MM-dd"));
        await world.Admin.CreateId(CareData.Hypertension(old));
        await Encounter(old, "IMP", world.Hospital, 100);
        await Encounter(old, "ACUTE", world.Hospital, 200);
        await Encounter(old, "IMP", station, 50);
        await Encounter(old, "AMB", world.Hospital, 60);
        await Encounter(old, "IMP", world.Hospital, 800);

        var run = await world.Admin.PostAsync($"/fhir/$stratify?organization=Organization/{station}", null);
        Assert.True(run.StatusCode == HttpStatusCode.OK, await run.Content.ReadAsStringAsync());
        var summary = await run.ReadResource<Parameters>();
        int Count(string name) => ((Integer)summary.Parameter.Single(p => p.Name == name).Value).Value!.Value;
        Assert.Equal((4, 1, 1, 2), (Count("total"), Count("low"), Count("moderate"), Count("high")));

        foreach (var (patient, level) in new[] { (low, "low"), (moderate, "moderate"), (high, "high"), (old, "high") })
        {
            var latest = await (await world.Admin.GetAsync($"/fhir/RiskAssessment?subject=Patient/{patient}&_sort=-date&_count=1")).ReadResource<Bundle>();
            var assessment = (RiskAssessment)latest.Entry.Single().Resource;
            Assert.True(level == assessment.Prediction[0].QualitativeRisk.Coding[0].Code, $"{patient}: {string.Join("; ", assessment.Note.Select(n => n.Text))}");
        }
        // one resident again: a new version of the same RiskAssessment (200), its basis and reasons; the first run is its history
        var one = await world.Admin.PostAsync($"/fhir/Patient/{high}/$stratify", null);
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        var mine = await one.ReadResource<RiskAssessment>();
        Assert.Equal($"risk-{high}", mine.Id);
        Assert.Equal("2", mine.Meta.VersionId);
        var current = await (await world.Admin.GetAsync($"/fhir/RiskAssessment?subject=Patient/{high}&_total=accurate")).ReadJson();
        Assert.Equal(1, current["total"]!.GetValue<int>()); // searches, and so the worklist, see only the latest run
        var history = await (await world.Admin.GetAsync($"/fhir/RiskAssessment/risk-{high}/_history")).ReadResource<Bundle>();
        Assert.Equal(2, history.Entry.Count);
        Assert.Equal("group-stratification", mine.Method.Coding[0].Code);
        Assert.Equal(ObservationStatus.Final, mine.Status);
        Assert.Contains(mine.Basis, b => b.Reference == $"Encounter/{admission}");
        Assert.Equal(5, mine.Basis.Count); // 2 conditions, the latest BP and HbA1c, 1 admission, and nothing else
        Assert.Contains(mine.Note, n => n.Text.Contains("HbA1c 9.5"));

        // worklist: high risk at the station, without an active care plan (the high one gets a plan)
        await world.Admin.CreateId(new CarePlan { Status = RequestStatus.Active, Intent = CarePlan.CarePlanIntent.Plan, Subject = GroupWorld.Ref("Patient", high) });
        var worklist = await (await world.Admin.GetAsync(
            $"/fhir/Patient?_has:EpisodeOfCare:patient:organization=Organization/{station}&_has:RiskAssessment:subject:risk=high&_has-not:CarePlan:subject:status=active")).ReadJson();
        Assert.Equal([old], TestData.Matches(worklist));
    }

    [Fact]
    public async Task An_institution_without_a_care_relationship_gets_403_for_a_resident_and_nothing_of_them_group_wide()
    {
        var resident = await CareData.Contracted(world);
        await world.Station1Client.CreateId(CareData.Hypertension(resident));
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Station2Client.PostAsync($"/fhir/Patient/{resident}/$stratify", null)).StatusCode);
        var run = await world.Station2Client.PostAsync($"/fhir/$stratify?organization=Organization/{world.Station1}", null);
        Assert.Equal(HttpStatusCode.OK, run.StatusCode);
        Assert.Equal(0, ((Integer)(await run.ReadResource<Parameters>()).Parameter.Single(p => p.Name == "total").Value).Value);
        var written = await (await world.Admin.GetAsync($"/fhir/RiskAssessment?subject=Patient/{resident}&_total=accurate")).ReadJson();
        Assert.Equal(0, written["total"]!.GetValue<int>());
        // the station that cares for the resident may
        Assert.Equal(HttpStatusCode.Created, (await world.Station1Client.PostAsync($"/fhir/Patient/{resident}/$stratify", null)).StatusCode);
    }

    [Fact]
    public async Task A_bad_organization_is_400_and_a_missing_resident_404()
    {
        var bad = await world.Admin.PostAsync("/fhir/$stratify?organization=station-7", null);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("organization", (await bad.Issues())[0].Expression);
        Assert.Equal(HttpStatusCode.NotFound, (await world.Admin.PostAsync($"/fhir/Patient/missing-{Guid.NewGuid():N}/$stratify", null)).StatusCode);
    }
}
