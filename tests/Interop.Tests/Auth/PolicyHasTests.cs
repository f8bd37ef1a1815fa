using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Auth;

/// <summary>
/// _has and _has-not under the group's access policy: the resources they look at must be ones the institution may
/// see (care relationship and consent), as a search of their type would require, or a resident's hidden data would
/// show through which residents match. Admins and the group's own systems see through as before.
/// </summary>
public sealed class PolicyHasTests(AuthFixture server) : IClassFixture<AuthFixture>
{
    private sealed record World(TestData Data, HttpClient Station, string Code, string Denied, string Open, string Without, string Elsewhere, string Lab);

    // Four residents: Denied (the station cares for her, her consent closes Observations to it), Open (cared for, no
    // denial), Without (cared for, no such observation) and Elsewhere (another station's only). Observations of code
    // Code for Denied, Open and Elsewhere, each performed by the laboratory Lab.
    private async Task<World> Build()
    {
        var data = new TestData(server.CreateClient());
        var tag = data.Tag[..8];
        var station = await data.Create(new Organization { Name = "Station " + tag });
        var other = await data.Create(new Organization { Name = "Other station " + tag });
        var lab = await data.Create(new Organization { Name = "Laboratory " + tag });
        async Task<string> Resident(string family, string org)
        {
            var id = await data.Create(new Patient { Name = [new HumanName { Family = family }] });
            await data.Create(new EpisodeOfCare { Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = Ref("Patient", id), ManagingOrganization = Ref("Organization", org) });
            return id;
        }
        var denied = await Resident("Denied", station);
        var open = await Resident("Open", station);
        var without = await Resident("Without", station);
        var elsewhere = await Resident("Elsewhere", other);
        var code = "has-" + tag;
        foreach (var patient in new[] { denied, open, elsewhere })
            await data.Create(new Observation
            {
                Status = ObservationStatus.Final, Code = new CodeableConcept("urn:test:code", code), Subject = Ref("Patient", patient),
                Performer = [Ref("Organization", lab)],
            });
        await data.Create(DenyingConsent.For(denied, station, "Observation"));
        var client = await server.ClientWith("has-station-" + tag, "system/*.rs", $"Organization/{station}", "clinician");
        return new World(data, client, code, denied, open, without, elsewhere, lab);
    }

    private static ResourceReference Ref(string type, string id) => new($"{type}/{id}");

    private static async Task<(List<string> Ids, int Total)> Search(HttpClient client, string url)
    {
        var response = await client.GetAsync(url);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var bundle = await response.ReadJson();
        var ids = bundle["entry"]?.AsArray().Select(e => e!["resource"]!["id"]!.GetValue<string>()).Order().ToList() ?? [];
        return (ids, bundle["total"]!.GetValue<int>());
    }

    private static string Residents(World w, string criterion) =>
        $"/fhir/Patient?_id={w.Denied},{w.Open},{w.Without},{w.Elsewhere}&{criterion}:Observation:subject:code=urn:test:code|{w.Code}&_total=accurate";

    [Fact]
    public async Task Has_does_not_match_a_resident_whose_consent_closes_that_data_and_still_matches_one_without_the_denial()
    {
        var w = await Build();
        var station = await Search(w.Station, Residents(w, "_has"));
        Assert.Equal([w.Open], station.Ids);
        Assert.Equal(1, station.Total);
        // The resident herself stays visible (the consent closes Observations only): the difference is in _has alone.
        Assert.Contains(w.Denied, (await Search(w.Station, $"/fhir/Patient?_id={w.Denied}&_total=accurate")).Ids);
        var admin = await Search(w.Data.Client, Residents(w, "_has"));
        Assert.Equal(new[] { w.Denied, w.Open, w.Elsewhere }.Order(), admin.Ids);
    }

    [Fact]
    public async Task Has_not_does_not_single_out_a_resident_whose_consent_closes_that_data()
    {
        var w = await Build();
        // To the station, Denied looks like Without: a resident with no such observation it may see.
        var station = await Search(w.Station, Residents(w, "_has-not"));
        Assert.Equal(new[] { w.Denied, w.Without }.Order(), station.Ids);
        Assert.Equal(2, station.Total);
        var admin = await Search(w.Data.Client, Residents(w, "_has-not"));
        Assert.Equal([w.Without], admin.Ids);
    }

    // A _has source's policy is asked through the resident it names first (one the station cares for makes it visible).
    // A source visible another way, here an episode the station wrote about a resident it registered itself and has no
    // relationship with (the episode is finished), must still match; the same about a resident registered elsewhere not.
    [Fact]
    public async Task Has_through_a_source_the_station_wrote_about_a_resident_it_registered_matches_without_a_relationship()
    {
        var data = new TestData(server.CreateClient());
        var tag = data.Tag[..8];
        var station = await data.Create(new Organization { Name = "Writing station " + tag });
        var client = await server.ClientWith("has-writer-" + tag, "system/*.cruds", $"Organization/{station}", "clinician");
        async Task<string> Created(HttpClient by, Resource resource)
        {
            var response = await by.Create(resource);
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return (await response.ReadJson())["id"]!.GetValue<string>();
        }
        EpisodeOfCare Finished(string patient) => new()
        {
            Status = EpisodeOfCare.EpisodeOfCareStatus.Finished, Patient = Ref("Patient", patient), ManagingOrganization = Ref("Organization", station),
        };
        var own = await Created(client, new Patient { Name = [new HumanName { Family = "Own" + tag }] });
        await Created(client, Finished(own));
        var elsewhere = await data.Create(new Patient { Name = [new HumanName { Family = "Own" + tag }] });
        await data.Create(Finished(elsewhere));
        var query = $"/fhir/Patient?family=Own{tag}&_has:EpisodeOfCare:patient:organization=Organization/{station}&_total=accurate";
        var seen = await Search(client, query);
        Assert.Equal([own], seen.Ids);
        Assert.Equal(1, seen.Total);
        Assert.Equal(new[] { own, elsewhere }.Order(), (await Search(data.Client, query)).Ids);
    }

    [Fact]
    public async Task Has_through_a_resource_of_a_resident_without_a_relationship_matches_nothing()
    {
        var w = await Build();
        // The laboratory is shared data: but that it examined Elsewhere (another station's resident) for this code
        // must not show through it, nor through the Denied resident's observation.
        var has = $"/fhir/Organization?_id={w.Lab}&_has:Observation:performer:code=urn:test:code|{w.Code}&_total=accurate";
        var hasOnly = has + $"&_has:Observation:performer:subject=Patient/{w.Elsewhere}";
        Assert.Equal([w.Lab], (await Search(w.Station, has)).Ids); // through Open's observation, which it may see
        Assert.Empty((await Search(w.Station, hasOnly)).Ids);
        Assert.Equal(0, (await Search(w.Station, hasOnly)).Total);
        Assert.Empty((await Search(w.Station, $"/fhir/Organization?_id={w.Lab}&_has:Observation:performer:subject=Patient/{w.Denied}")).Ids);
        var hasNot = $"/fhir/Organization?_id={w.Lab}&_has-not:Observation:performer:subject=Patient/{w.Elsewhere}";
        Assert.Equal([w.Lab], (await Search(w.Station, hasNot)).Ids);
        // The residents the laboratory examined: only those the station may see, by observations it may see.
        var examined = $"/fhir/Patient?_id={w.Elsewhere},{w.Open},{w.Denied}&_has:Observation:subject:performer=Organization/{w.Lab}";
        Assert.Equal([w.Open], (await Search(w.Station, examined)).Ids);
        // The admin and the group's own systems see through.
        var group = await server.ClientWith("has-group-" + w.Data.Tag[..8], "system/*.rs");
        foreach (var client in new[] { w.Data.Client, group })
        {
            Assert.Equal([w.Lab], (await Search(client, hasOnly)).Ids);
            Assert.Empty((await Search(client, hasNot)).Ids);
        }
    }
}
