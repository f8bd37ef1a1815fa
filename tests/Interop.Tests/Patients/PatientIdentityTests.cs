using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Patients;

/// <summary>One resident registered by a station and by a hospital: $match, $merge and $everything.</summary>
public sealed class PatientIdentityTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    private static Patient Wang(string system, string number, string family = "Wang") => new()
    {
        Identifier = [new Identifier(system, number)],
        Name = [new HumanName { Family = family, Given = ["Xiuying"] }],
        Gender = AdministrativeGender.Female, BirthDate = "1950-03-01",
    };

    private static async Task<Bundle> MatchAsync(HttpClient client, Patient patient, bool onlyCertain = false)
    {
        var parameters = new Parameters();
        parameters.Add("resource", patient);
        parameters.Add("onlyCertainMatches", new FhirBoolean(onlyCertain));
        var response = await client.PostAsync("/fhir/Patient/$match", FhirTest.Body(parameters));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.ReadResource<Bundle>();
    }

    private static string Grade(Bundle.EntryComponent e) => ((Code)e.Search.GetExtension("http://hl7.org/fhir/StructureDefinition/match-grade").Value).Value;

    [Fact]
    public async Task Match_by_identifier_is_certain_and_by_demographics_is_probable()
    {
        var client = server.CreateClient();
        var station = $"urn:station:{Guid.NewGuid():N}";
        var hospital = $"urn:hospital:{Guid.NewGuid():N}";
        var atStation = await client.CreateId(Wang(station, "S-1"));
        var atHospital = await client.CreateId(Wang(hospital, "H-9", "WANG"));

        var byIdentifier = await MatchAsync(client, Wang(station, "S-1"));
        var certain = byIdentifier.Entry.Single(e => e.Resource.Id == atStation);
        Assert.Equal(1m, certain.Search.Score);
        Assert.Equal("certain", Grade(certain));
        var probable = byIdentifier.Entry.Single(e => e.Resource.Id == atHospital);
        Assert.Equal("probable", Grade(probable));
        Assert.Equal(atStation, byIdentifier.Entry[0].Resource.Id); // best first

        var onlyCertain = await MatchAsync(client, Wang(station, "S-1"), onlyCertain: true);
        Assert.Equal([atStation], onlyCertain.Entry.Select(e => e.Resource.Id));

        var stranger = await MatchAsync(client, new Patient { Name = [new HumanName { Family = "Nobody" }], BirthDate = "1901-01-01" });
        Assert.Empty(stranger.Entry);
    }

    [Fact]
    public async Task Match_without_a_patient_is_400()
    {
        var response = await server.CreateClient().PostAsync("/fhir/Patient/$match", FhirTest.Body(new Parameters { Parameter = [new Parameters.ParameterComponent { Name = "count", Value = new Integer(3) }] }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Merge_links_keeps_history_and_leaves_references()
    {
        var client = server.CreateClient();
        var source = await client.CreateId(Wang($"urn:s:{Guid.NewGuid():N}", "1"));
        var target = await client.CreateId(Wang($"urn:h:{Guid.NewGuid():N}", "2"));
        var plan = await client.CreateId(new CarePlan { Status = RequestStatus.Active, Intent = CarePlan.CarePlanIntent.Plan, Subject = new ResourceReference($"Patient/{source}") });

        var parameters = new Parameters();
        parameters.Add("source-patient", new ResourceReference($"Patient/{source}"));
        parameters.Add("target-patient", new ResourceReference($"Patient/{target}"));
        var response = await client.PostAsync("/fhir/Patient/$merge", FhirTest.Body(parameters));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());

        var merged = await (await client.GetAsync($"/fhir/Patient/{source}")).ReadResource<Patient>();
        Assert.False(merged.Active);
        Assert.Contains(merged.Link, l => l.Type == Patient.LinkType.ReplacedBy && l.Other.Reference == $"Patient/{target}");
        var survivor = await (await client.GetAsync($"/fhir/Patient/{target}")).ReadResource<Patient>();
        Assert.Contains(survivor.Link, l => l.Type == Patient.LinkType.Replaces && l.Other.Reference == $"Patient/{source}");
        Assert.Equal(2, (await (await client.GetAsync($"/fhir/Patient/{source}/_history")).ReadJson())["total"]!.GetValue<int>());
        var carePlan = await (await client.GetAsync($"/fhir/CarePlan/{plan}")).ReadJson();
        Assert.Equal($"Patient/{source}", carePlan["subject"]!["reference"]!.GetValue<string>());

        var self = new Parameters();
        self.Add("source-patient", new ResourceReference($"Patient/{target}"));
        self.Add("target-patient", new ResourceReference($"Patient/{target}"));
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync("/fhir/Patient/$merge", FhirTest.Body(self))).StatusCode);
    }

    [Fact]
    public async Task Everything_covers_linked_registrations_and_what_they_reference()
    {
        var client = server.CreateClient();
        var stationOrg = await client.CreateId(new Organization { Name = "Station 7" });
        var hospitalOrg = await client.CreateId(new Organization { Name = "District hospital" });
        var hospitalPatient = await client.CreateId(Wang($"urn:h:{Guid.NewGuid():N}", "H"));
        var stationPatient = Wang($"urn:s:{Guid.NewGuid():N}", "S");
        stationPatient.Link = [new Patient.LinkComponent { Other = new ResourceReference($"Patient/{hospitalPatient}"), Type = Patient.LinkType.Seealso }];
        var station = await client.CreateId(stationPatient);
        var contract = await client.CreateId(new EpisodeOfCare { Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = new ResourceReference($"Patient/{station}"), ManagingOrganization = new ResourceReference($"Organization/{stationOrg}") });
        var encounter = await client.CreateId(new Encounter { Status = Encounter.EncounterStatus.Finished, Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"), Subject = new ResourceReference($"Patient/{hospitalPatient}"), ServiceProvider = new ResourceReference($"Organization/{hospitalOrg}") });
        await client.CreateId(new Encounter { Status = Encounter.EncounterStatus.Finished, Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"), Subject = new ResourceReference("Patient/someone-else") });

        var all = await (await client.GetAsync($"/fhir/Patient/{station}/$everything?_count=100")).ReadJson();
        var keys = all["entry"]!.AsArray().Select(e => $"{e!["resource"]!["resourceType"]}/{e["resource"]!["id"]}").ToHashSet();
        Assert.Equal(new HashSet<string> { $"Patient/{station}", $"Patient/{hospitalPatient}", $"EpisodeOfCare/{contract}", $"Encounter/{encounter}", $"Organization/{stationOrg}", $"Organization/{hospitalOrg}" }, keys);
        Assert.Equal(6, all["total"]!.GetValue<int>());

        // The same view from the hospital's registration (the link is followed backwards too).
        var fromHospital = await (await client.GetAsync($"/fhir/Patient/{hospitalPatient}/$everything?_count=100")).ReadJson();
        Assert.Equal(6, fromHospital["total"]!.GetValue<int>());

        var encounters = await (await client.GetAsync($"/fhir/Patient/{station}/$everything?_type=Encounter")).ReadJson();
        Assert.Equal(1, encounters["total"]!.GetValue<int>());

        var firstPage = await (await client.GetAsync($"/fhir/Patient/{station}/$everything?_count=4")).ReadJson();
        Assert.Equal(4, firstPage["entry"]!.AsArray().Count);
        var next = firstPage["link"]!.AsArray().Single(l => l!["relation"]!.GetValue<string>() == "next")!["url"]!.GetValue<string>();
        var secondPage = await (await client.GetAsync(next)).ReadJson();
        Assert.Equal(2, secondPage["entry"]!.AsArray().Count);

        var future = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(5).ToString("O"));
        Assert.Equal(0, (await (await client.GetAsync($"/fhir/Patient/{station}/$everything?_since={future}")).ReadJson())["total"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/fhir/Patient/nobody/$everything")).StatusCode);
    }
}
