using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Interop.Fhir.Workflows.Care;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Workflows;

/// <summary>
/// Patient/{id}/$enrol and the case-management rules: the episode it builds, each refusal (no contract, not chronic,
/// already enrolled, a specialist not at a hospital, a team without a hospital specialist — also for a direct write),
/// bad parameters, and an institution without a care relationship.
/// </summary>
public sealed class CaseManagementTests(GroupWorld world) : IClassFixture<GroupWorld>
{
    [Fact]
    public async Task Enrol_builds_the_episode_from_the_contract_with_a_team_of_GP_and_hospital_specialist()
    {
        var resident = await CareData.Contracted(world);
        var condition = await world.Station1Client.CreateId(CareData.Diabetes(resident));
        var (_, role) = await CareData.Specialist(world, world.Hospital);
        var response = await CareData.Enrol(world.Station1Client, resident, CareData.Enrolment(condition, $"PractitionerRole/{role}"));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        Assert.NotNull(response.Headers.Location);
        var episode = await response.ReadResource<EpisodeOfCare>();
        Assert.True(CareCodes.IsCaseManagement(episode));
        Assert.Equal(EpisodeOfCare.EpisodeOfCareStatus.Active, episode.Status);
        Assert.Equal("E11", ((CodeableConcept)episode.Extension.Single(x => x.Url == CareCodes.ChronicConditionExtension).Value).Coding[0].Code);
        Assert.Equal($"Condition/{condition}", episode.Diagnosis.Single().Condition.Reference);
        Assert.Equal($"Organization/{world.Station1}", episode.ManagingOrganization.Reference);
        Assert.Equal($"Practitioner/{world.Gp1}", episode.CareManager.Reference);
        Assert.Equal(2, episode.Team.Count);
        Assert.Equal($"CareTeam/{world.Team1}", episode.Team[0].Reference);
        var team = await (await world.Admin.GetAsync($"/fhir/{episode.Team[1].Reference}")).ReadResource<CareTeam>();
        Assert.Contains(team.Participant, p => p.Member.Reference == $"PractitionerRole/{role}");
        Assert.Contains(team.Participant, p => p.Member.Reference == $"Practitioner/{world.Gp1}");
        Assert.Equal($"Organization/{world.Station1}", team.ManagingOrganization.Single().Reference);
        // searchable by the group's parameter
        var found = await (await world.Admin.GetAsync($"/fhir/EpisodeOfCare?patient=Patient/{resident}&chronic-condition=http://hl7.org/fhir/sid/icd-10|E11")).ReadJson();
        Assert.Equal([episode.Id], TestData.Matches(found));
    }

    [Fact]
    public async Task A_resident_without_an_active_contract_is_422_naming_the_contract()
    {
        var resident = await world.Resident();
        var condition = await world.Admin.CreateId(CareData.Hypertension(resident));
        var (_, role) = await CareData.Specialist(world, world.Hospital);
        var response = await CareData.Enrol(world.Admin, resident, CareData.Enrolment(condition, $"PractitionerRole/{role}"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var issue = (await response.Issues())[0];
        Assert.Equal("Patient", issue.Expression);
        Assert.Contains("family-doctor contract", issue.Diagnostics);
    }

    [Fact]
    public async Task A_condition_outside_the_chronic_value_set_is_422_at_Condition_code_and_another_residents_at_subject()
    {
        var resident = await CareData.Contracted(world);
        var asthma = await world.Station1Client.CreateId(CareData.Condition(resident, CareData.Snomed, "195967001", "Asthma"));
        var response = await CareData.Enrol(world.Station1Client, resident, CareData.Enrolment(asthma));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("Condition.code", (await response.Issues())[0].Expression);
        var other = await world.Admin.CreateId(CareData.Hypertension(await world.Resident()));
        var stranger = await CareData.Enrol(world.Admin, resident, CareData.Enrolment(other));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, stranger.StatusCode);
        Assert.Equal("Condition.subject", (await stranger.Issues())[0].Expression);
    }

    [Fact]
    public async Task A_second_enrolment_for_the_same_condition_is_409_naming_the_first()
    {
        var resident = await CareData.Contracted(world);
        var condition = await world.Station1Client.CreateId(CareData.Hypertension(resident));
        var (person, _) = await CareData.Specialist(world, world.Hospital);
        var first = await CareData.Enrol(world.Station1Client, resident, CareData.Enrolment(condition, $"Practitioner/{person}"));
        Assert.True(first.StatusCode == HttpStatusCode.Created, await first.Content.ReadAsStringAsync());
        var id = (await first.ReadJson())["id"]!.GetValue<string>();
        var second = await CareData.Enrol(world.Station1Client, resident, CareData.Enrolment(condition, $"Practitioner/{person}"));
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Contains($"EpisodeOfCare/{id}", await CareData.Said(second));
        // another chronic condition of the same resident is enrolled
        var diabetes = await world.Station1Client.CreateId(CareData.Diabetes(resident));
        Assert.Equal(HttpStatusCode.Created, (await CareData.Enrol(world.Station1Client, resident, CareData.Enrolment(diabetes, $"Practitioner/{person}"))).StatusCode);
    }

    [Fact]
    public async Task A_team_without_a_hospital_specialist_is_422_for_enrol_and_for_a_direct_write()
    {
        var resident = await CareData.Contracted(world);
        var condition = await world.Station1Client.CreateId(CareData.Hypertension(resident));
        var alone = await CareData.Enrol(world.Station1Client, resident, CareData.Enrolment(condition));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, alone.StatusCode);
        Assert.Contains("hospital", await CareData.Said(alone));
        var direct = new EpisodeOfCare
        {
            Extension = [new Extension(CareCodes.ChronicConditionExtension, new CodeableConcept(CareData.Snomed, "59621000"))],
            Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Type = [new CodeableConcept(GroupWorld.EpisodeType, "case-management")],
            Diagnosis = [new EpisodeOfCare.DiagnosisComponent { Condition = GroupWorld.Ref("Condition", condition) }],
            Patient = GroupWorld.Ref("Patient", resident), ManagingOrganization = GroupWorld.Ref("Organization", world.Station1),
            CareManager = GroupWorld.Ref("Practitioner", world.Gp1), Team = [GroupWorld.Ref("CareTeam", world.Team1)],
        };
        var posted = await world.Station1Client.PostAsync("/fhir/EpisodeOfCare", FhirTest.Body(direct));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, posted.StatusCode);
        var issue = (await posted.Issues())[0];
        Assert.Equal("EpisodeOfCare.team", issue.Expression);
        Assert.Contains("hospital", issue.Diagnostics);
        Assert.Contains("acting for a hospital (", issue.Diagnostics); // the station's members are there: only the hospital is missing
    }

    [Fact]
    public async Task A_specialist_who_is_not_at_a_hospital_is_422_at_the_parameter()
    {
        var resident = await CareData.Contracted(world);
        var condition = await world.Station1Client.CreateId(CareData.Hypertension(resident));
        var (_, stationRole) = await CareData.Specialist(world, world.Station2);
        var response = await CareData.Enrol(world.Station1Client, resident, CareData.Enrolment(condition, $"PractitionerRole/{stationRole}"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("Parameters.parameter[specialist]", (await response.Issues())[0].Expression);
    }

    [Fact]
    public async Task Bad_parameters_are_400_naming_the_parameter()
    {
        var resident = await CareData.Contracted(world);
        var onlySpecialist = new Parameters();
        onlySpecialist.Add("specialist", GroupWorld.Ref("PractitionerRole", "x"));
        var none = await world.Station1Client.PostAsync($"/fhir/Patient/{resident}/$enrol", FhirTest.Body(onlySpecialist));
        Assert.Equal(HttpStatusCode.BadRequest, none.StatusCode);
        Assert.Equal("Parameters.parameter[condition]", (await none.Issues())[0].Expression);
        var text = new Parameters();
        text.Add("condition", new FhirString("hypertension"));
        Assert.Equal(HttpStatusCode.BadRequest, (await world.Station1Client.PostAsync($"/fhir/Patient/{resident}/$enrol", FhirTest.Body(text))).StatusCode);
        var wrong = CareData.Enrolment("x");
        wrong.Add("colour", new FhirString("blue"));
        var unknown = await world.Station1Client.PostAsync($"/fhir/Patient/{resident}/$enrol", FhirTest.Body(wrong));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("colour", await CareData.Said(unknown));
        Assert.Equal(HttpStatusCode.NotFound, (await CareData.Enrol(world.Station1Client, resident, CareData.Enrolment("missing-" + Guid.NewGuid().ToString("N")))).StatusCode);
    }

    [Fact]
    public async Task An_institution_without_a_care_relationship_gets_403_and_nothing_is_written()
    {
        var resident = await CareData.Contracted(world);
        var condition = await world.Station1Client.CreateId(CareData.Hypertension(resident));
        var (_, role) = await CareData.Specialist(world, world.Hospital);
        var response = await CareData.Enrol(world.Station2Client, resident, CareData.Enrolment(condition, $"PractitionerRole/{role}"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var episodes = await (await world.Admin.GetAsync($"/fhir/EpisodeOfCare?patient=Patient/{resident}&type={GroupWorld.EpisodeType}|case-management&_total=accurate")).ReadJson();
        Assert.Equal(0, episodes["total"]!.GetValue<int>());
    }

    [Fact]
    public void The_chronic_codes_are_the_value_sets()
    {
        var root = Path.GetDirectoryName(ProfileTestsPath())!;
        var valueSet = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "ValueSet-chronic-conditions.json")))!;
        var listed = valueSet["compose"]!["include"]!.AsArray()
            .SelectMany(i => i!["concept"]!.AsArray().Select(c => (i["system"]!.GetValue<string>(), c!["code"]!.GetValue<string>()))).Order().ToList();
        Assert.Equal(listed, CareCodes.Chronic.Keys.Order().ToList());
    }

    private static string ProfileTestsPath() => Interop.Tests.Validation.ProfileTests.Examples;
}
