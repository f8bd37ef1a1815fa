using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Auth;

/// <summary>
/// Chains under the group's access policy: every hop's target must be one the institution may see (care relationship
/// and consent), as a search of the target's type would require. Else an Encounter a station wrote itself (which
/// stays visible to it) would tell it, through `subject:Patient.family=`, the current name of a resident it no longer
/// cares for or whose consent closes the record to it. Hops to shared data (an Organization) are unaffected; admins
/// and the group's own systems see through as before.
/// </summary>
public sealed class PolicyChainTests(AuthFixture server) : IClassFixture<AuthFixture>
{
    private sealed record World(TestData Data, HttpClient Station, string Tag, string StationOrg, string Hub,
        string Cared, string Former, string Denied, string CaredEnc, string FormerEnc, string DeniedEnc);

    // Three residents, each registered at the shared hospital Hub, each with an Encounter the station wrote itself:
    // Cared (an active episode with the station), Former (only that encounter, finished in 2020: beyond the window)
    // and Denied (an active episode, but her consent closes the whole record to the station).
    private async Task<World> Build()
    {
        var data = new TestData(server.CreateClient());
        var tag = data.Tag[..8];
        var station = await data.Create(new Organization { Name = "Station" + tag });
        var hub = await data.Create(new Organization { Name = "Hub" + tag });
        var client = await server.ClientWith("chain-station-" + tag, "system/*.cruds", $"Organization/{station}", "clinician");
        async Task<string> Resident(string family, bool episode)
        {
            var id = await data.Create(new Patient { Name = [new HumanName { Family = family + tag }], ManagingOrganization = Ref("Organization", hub) });
            if (episode)
                await data.Create(new EpisodeOfCare { Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = Ref("Patient", id), ManagingOrganization = Ref("Organization", station) });
            return id;
        }
        async Task<string> Visit(string patient, string day) => await Created(client, new Encounter
        {
            Status = Encounter.EncounterStatus.Finished, Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"),
            Subject = Ref("Patient", patient), ServiceProvider = Ref("Organization", station), Period = new Period { Start = day, End = day },
        });
        var recent = DateTimeOffset.UtcNow.AddDays(-3).ToString("yyyy-MM-dd");
        var cared = await Resident("Cared", episode: true);
        var former = await Resident("Former", episode: false);
        var denied = await Resident("Denied", episode: true);
        var caredEnc = await Visit(cared, recent);
        var formerEnc = await Visit(former, "2020-01-15");
        var deniedEnc = await Visit(denied, recent);
        await data.Create(DenyingConsent.For(denied, station));
        return new World(data, client, tag, station, hub, cared, former, denied, caredEnc, formerEnc, deniedEnc);
    }

    private static ResourceReference Ref(string type, string id) => new($"{type}/{id}");

    private static async Task<string> Created(HttpClient client, Resource resource)
    {
        var response = await client.Create(resource);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode} {body}");
        return (await response.ReadJson())["id"]!.GetValue<string>();
    }

    private static async Task<(List<string> Ids, int Total)> Search(HttpClient client, string url)
    {
        url += "&_total=accurate";
        var response = await client.GetAsync(url);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var bundle = await response.ReadJson();
        var ids = bundle["entry"]?.AsArray().Select(e => e!["resource"]!["id"]!.GetValue<string>()).Order().ToList() ?? [];
        return (ids, bundle["total"]!.GetValue<int>());
    }

    // The station still sees the encounter it wrote, but not the resident: what the chain must not get round.
    private static async Task OuterVisibleTargetHidden(World w, string encounter, string patient)
    {
        Assert.Equal(HttpStatusCode.OK, (await w.Station.GetAsync($"/fhir/Encounter/{encounter}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await w.Station.GetAsync($"/fhir/Patient/{patient}")).StatusCode);
    }

    // The station sees the encounter but not its resident, and the chain by the resident's family name finds nothing
    // for it (no ids, a total of 0). Returns that chain's query.
    private static async Task<string> ChainFindsNothing(World w, string encounter, string patient, string family)
    {
        await OuterVisibleTargetHidden(w, encounter, patient);
        var byName = $"/fhir/Encounter?subject:Patient.family={family}{w.Tag}";
        var station = await Search(w.Station, byName);
        Assert.Empty(station.Ids);
        Assert.Equal(0, station.Total);
        return byName;
    }

    [Fact]
    public async Task A_chain_does_not_match_through_a_resident_the_station_no_longer_cares_for()
    {
        var w = await Build();
        var byName = await ChainFindsNothing(w, w.FormerEnc, w.Former, "Former");
        // Nor with the encounter named, nor by another of the resident's values, nor inside a _has.
        Assert.Empty((await Search(w.Station, $"/fhir/Encounter?_id={w.FormerEnc}&subject:Patient.organization={w.Hub}")).Ids);
        var has = $"/fhir/Organization?_id={w.StationOrg}&_has:Encounter:service-provider:subject:Patient.family=Former{w.Tag}";
        Assert.Empty((await Search(w.Station, has)).Ids);
        // The admin and the group's own systems see through.
        var group = await server.ClientWith("chain-group-" + w.Tag, "system/*.rs");
        foreach (var client in new[] { w.Data.Client, group })
        {
            Assert.Equal([w.FormerEnc], (await Search(client, byName)).Ids);
            Assert.Equal([w.StationOrg], (await Search(client, has)).Ids);
        }
    }

    [Fact]
    public async Task A_chain_does_not_match_through_a_resident_whose_consent_closes_the_record()
    {
        var w = await Build();
        var byName = await ChainFindsNothing(w, w.DeniedEnc, w.Denied, "Denied");
        Assert.Equal([w.DeniedEnc], (await Search(w.Data.Client, byName)).Ids);
    }

    [Fact]
    public async Task A_resident_it_cares_for_still_matches_through_the_chain()
    {
        var w = await Build();
        Assert.Equal(HttpStatusCode.OK, (await w.Station.GetAsync($"/fhir/Patient/{w.Cared}")).StatusCode);
        var station = await Search(w.Station, $"/fhir/Encounter?subject:Patient.family=Cared{w.Tag}");
        Assert.Equal([w.CaredEnc], station.Ids);
        Assert.Equal(1, station.Total);
        // A family prefix matching all three: only the one it cares for.
        Assert.Equal([w.CaredEnc], (await Search(w.Station, $"/fhir/Encounter?service-provider={w.StationOrg}&subject:Patient.family=Cared{w.Tag},Former{w.Tag},Denied{w.Tag}")).Ids);
    }

    // The hop onto Patient asks the policy as sets (the residents it cares for, those it wrote): each way a resident
    // is visible to a read must make the chain match, and only those.
    [Fact]
    public async Task A_resident_the_station_registered_itself_matches_through_the_chain_and_one_it_only_saw_long_ago_does_not()
    {
        var w = await Build();
        // Registered by the station itself, with only an encounter beyond the window: visible as data it wrote.
        var own = await Created(w.Station, new Patient { Name = [new HumanName { Family = "Own" + w.Tag }] });
        // Registered at the hub under the same family name, with the same kind of encounter: not visible.
        var stranger = await w.Data.Create(new Patient { Name = [new HumanName { Family = "Own" + w.Tag }] });
        async Task<string> OldVisit(string patient) => await Created(w.Station, new Encounter
        {
            Status = Encounter.EncounterStatus.Finished, Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"),
            Subject = Ref("Patient", patient), ServiceProvider = Ref("Organization", w.StationOrg), Period = new Period { Start = "2020-02-01", End = "2020-02-01" },
        });
        var ownEnc = await OldVisit(own);
        var strangerEnc = await OldVisit(stranger);
        Assert.Equal(HttpStatusCode.OK, (await w.Station.GetAsync($"/fhir/Patient/{own}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await w.Station.GetAsync($"/fhir/Patient/{stranger}")).StatusCode);
        var byName = $"/fhir/Encounter?subject:Patient.family=Own{w.Tag}";
        var station = await Search(w.Station, byName);
        Assert.Equal([ownEnc], station.Ids);
        Assert.Equal(1, station.Total);
        Assert.Equal(new[] { ownEnc, strangerEnc }.Order(), (await Search(w.Data.Client, byName)).Ids);
    }

    [Fact]
    public async Task A_chain_through_a_shared_organization_still_works_and_a_resident_hop_within_it_is_held()
    {
        var w = await Build();
        // One hop to shared data: every encounter the station wrote (all visible to it) matches.
        var provider = await Search(w.Station, $"/fhir/Encounter?service-provider:Organization.name=Station{w.Tag}");
        Assert.Equal(new[] { w.CaredEnc, w.FormerEnc, w.DeniedEnc }.Order(), provider.Ids);
        Assert.Equal(3, provider.Total);
        // Two hops, resident then shared hospital: each resident hop is held, the hospital hop is not.
        var registered = $"/fhir/Encounter?subject:Patient.organization.name=Hub{w.Tag}";
        Assert.Equal([w.CaredEnc], (await Search(w.Station, registered)).Ids);
        Assert.Equal(new[] { w.CaredEnc, w.FormerEnc, w.DeniedEnc }.Order(), (await Search(w.Data.Client, registered)).Ids);
    }
}
