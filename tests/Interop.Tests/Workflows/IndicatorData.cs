using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Workflows;

/// <summary>
/// Builds the small populations of the indicator tests inside a <see cref="GroupWorld"/>: a fresh hospital and station
/// under the group per test (so each test's residents are its own: it asks with reporter = its station), residents,
/// contracts, encounters, episodes, risk assessments; and reads MeasureReports.
/// </summary>
public sealed class IndicatorData(GroupWorld world)
{
    public HttpClient Admin => world.Admin;

    /// <summary>A new hospital (partOf the group) and a station under it.</summary>
    public async Task<(string Hospital, string Station)> Institutions()
    {
        var hospital = await Admin.CreateId(Org("hospital", world.Group));
        return (hospital, await Admin.CreateId(Org("station", hospital)));
    }

    public static Organization Org(string kind, string? partOf) => new()
    {
        Identifier = [new Identifier("https://interop.example/fhir/sid/institution-code", Guid.NewGuid().ToString("N")[..8])],
        Name = kind + " " + Guid.NewGuid().ToString("N")[..4],
        Type = [new CodeableConcept(GroupWorld.Kind, kind)], PartOf = partOf is null ? null : GroupWorld.Ref("Organization", partOf),
        Meta = new Meta { Profile = [GroupWorld.Profiles + "group-organization"] },
    };

    /// <summary><paramref name="count"/> residents managed by <paramref name="station"/>.</summary>
    public async Task<List<string>> Residents(string station, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
            ids.Add(await Admin.CreateId(new Patient { Name = [new HumanName { Family = "Resident" }], ManagingOrganization = GroupWorld.Ref("Organization", station) }));
        return ids;
    }

    /// <summary>A family-doctor contract (at the world's station 1, with its GP and team).</summary>
    public Task<string> Contract(string patient, EpisodeOfCare.EpisodeOfCareStatus status, string start, string end)
    {
        var contract = world.Contract(patient, world.Gp1, world.Team1, start: start, end: end);
        contract.Status = status;
        return Admin.CreateId(contract);
    }

    public Task<string> Encounter(string patient, string start, string? provider, Hl7.Fhir.Model.Encounter.EncounterStatus status = Hl7.Fhir.Model.Encounter.EncounterStatus.Finished) =>
        Admin.CreateId(new Encounter
        {
            Status = status, Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"), Subject = GroupWorld.Ref("Patient", patient),
            Period = new Period { Start = start, End = start }, ServiceProvider = provider is null ? null : GroupWorld.Ref("Organization", provider),
        });

    /// <summary>A case-management episode for a chronic condition (SNOMED CT code).</summary>
    // The case-management rule wants a hospital specialist beside the station's team: a team the hospital manages.
    private string? _specialists;

    public async Task<string> CaseManagement(string patient, string station, string sct, string start, string? end, EpisodeOfCare.EpisodeOfCareStatus status)
    {
        _specialists ??= await Admin.CreateId(new CareTeam
        {
            Status = CareTeam.CareTeamStatus.Active, ManagingOrganization = [GroupWorld.Ref("Organization", world.Hospital)],
            Participant = [new CareTeam.ParticipantComponent { Member = GroupWorld.Ref("Practitioner", world.Gp3) }],
        });
        return await Admin.CreateId(new EpisodeOfCare
        {
            Status = status, Type = [new CodeableConcept(GroupWorld.EpisodeType, "case-management")],
            Extension = [new Extension("https://interop.example/fhir/StructureDefinition/chronic-condition", new CodeableConcept("http://snomed.info/sct", sct))],
            Diagnosis = [new EpisodeOfCare.DiagnosisComponent { Condition = new ResourceReference("Condition/c-" + sct) }],
            Patient = GroupWorld.Ref("Patient", patient), ManagingOrganization = GroupWorld.Ref("Organization", station),
            Period = new Period { Start = start, End = end }, CareManager = GroupWorld.Ref("Practitioner", world.Gp1),
            Team = [GroupWorld.Ref("CareTeam", world.Team1), GroupWorld.Ref("CareTeam", _specialists)],
        });
    }

    public Task<string> Risk(string patient, string date, string risk, ObservationStatus status = ObservationStatus.Final) =>
        Create(new RiskAssessment
        {
            Status = status, Subject = GroupWorld.Ref("Patient", patient), Occurrence = new FhirDateTime(date),
            // with a probability: the validator fails ras-2 ("<= 100") on a prediction without one
            Prediction = [new RiskAssessment.PredictionComponent { QualitativeRisk = new CodeableConcept("http://terminology.hl7.org/CodeSystem/risk-probability", risk), Probability = new FhirDecimal(risk == "high" ? 80 : 20) }],
        });

    public Task<string> CarePlan(string patient, RequestStatus status) =>
        Create(new CarePlan { Status = status, Intent = Hl7.Fhir.Model.CarePlan.CarePlanIntent.Plan, Subject = GroupWorld.Ref("Patient", patient) });

    // A create that must succeed, its answer in the failure message.
    private async Task<string> Create(Resource resource)
    {
        var response = await Admin.PostAsync($"/fhir/{resource.TypeName}", FhirTest.Body(resource));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.ReadJson())["id"]!.GetValue<string>();
    }

    /// <summary>GET Measure/{measure}/$evaluate-measure?{query} by <paramref name="client"/> (the admin by default); asserts 200.</summary>
    public async Task<JsonObject> Evaluate(string measure, string query, HttpClient? client = null)
    {
        var response = await (client ?? Admin).GetAsync($"/fhir/Measure/{measure}/$evaluate-measure?{query}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var report = await response.ReadJson();
        Assert.Equal("MeasureReport", report["resourceType"]!.GetValue<string>());
        Assert.Equal("complete", report["status"]!.GetValue<string>());
        Assert.Equal("summary", report["type"]!.GetValue<string>());
        Assert.Equal($"https://interop.example/fhir/Measure/{measure}", report["measure"]!.GetValue<string>());
        return report;
    }

    public static JsonNode Group(JsonObject report, string code) =>
        report["group"]!.AsArray().Single(g => g!["code"]!["text"]!.GetValue<string>() == code)!;

    public static int Count(JsonNode groupOrStratum, string population) =>
        groupOrStratum["population"]!.AsArray().Single(p => p!["code"]!["coding"]![0]!["code"]!.GetValue<string>() == population)!["count"]?.GetValue<int>() ?? 0;

    public static decimal? Score(JsonNode groupOrStratum) => groupOrStratum["measureScore"]?["value"]?.GetValue<decimal>();

    /// <summary>The strata of a stratifier, by value (components joined by a space); empty when it has none.</summary>
    public static Dictionary<string, JsonNode> Strata(JsonNode group, string stratifier) =>
        (group["stratifier"]?.AsArray() ?? []).Where(s => s!["code"]![0]!["text"]!.GetValue<string>() == stratifier)
            .SelectMany(s => s!["stratum"]!.AsArray())
            .ToDictionary(s => s!["value"] is { } v ? Text(v) : string.Join(' ', s!["component"]!.AsArray().Select(c => Text(c!["value"]!))), s => s!);

    private static string Text(JsonNode concept) => concept["coding"]?[0]?["code"]?.GetValue<string>() ?? concept["text"]!.GetValue<string>();
}
