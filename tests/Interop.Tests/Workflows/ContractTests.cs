using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Workflows;

/// <summary>
/// The family-doctor contract's rules, each with a case that breaks it: one active contract per resident (also
/// under concurrency and inside one transaction), a care manager who leads a team at the station, no GP switch
/// within a contract, early termination with a reason; $renew; and the worklist searches.
/// </summary>
public sealed class ContractTests(GroupWorld world) : IClassFixture<GroupWorld>
{
    private static async Task<HttpResponseMessage> Post(HttpClient client, Resource resource) =>
        await client.PostAsync($"/fhir/{resource.TypeName}", FhirTest.Body(resource));

    private static async Task<string> Said(HttpResponseMessage response) => string.Join(" | ", (await response.Issues()).Select(i => $"{i.Expression}: {i.Diagnostics}"));

    [Fact]
    public async Task A_second_active_contract_is_409_naming_the_first()
    {
        var resident = await world.Resident();
        var first = await world.Station1Client.CreateId(world.Contract(resident, world.Gp1, world.Team1));
        var second = await Post(world.Station1Client, world.Contract(resident, world.Gp2, world.Team2));
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Contains($"EpisodeOfCare/{first}", await Said(second));
        // a contract that is not active (planned) does not count, nor does another resident's
        var planned = world.Contract(resident, world.Gp2, world.Team2);
        planned.Status = EpisodeOfCare.EpisodeOfCareStatus.Planned;
        Assert.Equal(HttpStatusCode.Created, (await Post(world.Station1Client, planned)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Post(world.Station1Client, world.Contract(await world.Resident(), world.Gp1, world.Team1))).StatusCode);
    }

    [Fact]
    public async Task Concurrent_signings_for_one_resident_leave_exactly_one_active_contract()
    {
        var resident = await world.Resident();
        var attempts = await System.Threading.Tasks.Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            Post(world.Station1Client, world.Contract(resident, i % 2 == 0 ? world.Gp1 : world.Gp2, i % 2 == 0 ? world.Team1 : world.Team2))));
        Assert.Equal(1, attempts.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(5, attempts.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        var found = await (await world.Admin.GetAsync($"/fhir/EpisodeOfCare?patient=Patient/{resident}&status=active&_total=accurate")).ReadJson();
        Assert.Equal(1, found["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task Two_active_contracts_in_one_transaction_store_nothing()
    {
        var resident = await world.Resident();
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        foreach (var (gp, team) in new[] { (world.Gp1, world.Team1), (world.Gp2, world.Team2) })
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = "urn:uuid:" + Guid.NewGuid(), Resource = world.Contract(resident, gp, team),
                Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "EpisodeOfCare" },
            });
        var response = await world.Station1Client.PostAsync("/fhir", FhirTest.Body(bundle));
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("Bundle.entry[", (await response.Issues())[0].Expression);
        var found = await (await world.Admin.GetAsync($"/fhir/EpisodeOfCare?patient=Patient/{resident}&_total=accurate")).ReadJson();
        Assert.Equal(0, found["total"]!.GetValue<int>());
    }

    public static TheoryData<string, string> CareManagerCases => new()
    {
        { "a GP of another station", "Gp3" },
        { "a team member who is not its GP leader", "Nurse" },
    };

    [Theory]
    [MemberData(nameof(CareManagerCases))]
    public async Task The_care_manager_must_lead_a_team_at_the_managing_station(string what, string who)
    {
        var manager = who == "Gp3" ? world.Gp3 : world.Nurse;
        var response = await Post(world.Station1Client, world.Contract(await world.Resident(), manager, world.Team1));
        Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, $"{what}: {response.StatusCode} {await Said(response)}");
        var issue = (await response.Issues())[0];
        Assert.Equal("business-rule", issue.Code);
        Assert.Equal("EpisodeOfCare.careManager", issue.Expression);
        Assert.Contains($"Practitioner/{manager}", issue.Diagnostics);
    }

    [Fact]
    public async Task A_contract_longer_than_a_year_is_refused()
    {
        var response = await Post(world.Station1Client, world.Contract(await world.Resident(), world.Gp1, world.Team1, end: GroupWorld.Today(400)));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("EpisodeOfCare", (await response.Issues())[0].Expression);
    }

    [Fact]
    public async Task The_GP_does_not_change_within_a_contract_by_update_or_patch()
    {
        var contract = world.Contract(await world.Resident(), world.Gp1, world.Team1);
        contract.Id = await world.Station1Client.CreateId(contract);
        contract.CareManager = GroupWorld.Ref("Practitioner", world.Gp2);
        contract.Team = [GroupWorld.Ref("CareTeam", world.Team2)];
        var put = await world.Station1Client.PutAsync($"/fhir/EpisodeOfCare/{contract.Id}", FhirTest.Body(contract));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, put.StatusCode);
        Assert.Contains("$renew", await Said(put));
        var patch = new HttpRequestMessage(HttpMethod.Patch, $"/fhir/EpisodeOfCare/{contract.Id}")
        {
            Content = FhirTest.Body($$"""[{"op":"replace","path":"/careManager/reference","value":"Practitioner/{{world.Gp2}}"}]""", "application/json-patch+json"),
        };
        var patched = await world.Station1Client.SendAsync(patch);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, patched.StatusCode);
        Assert.Equal("EpisodeOfCare.careManager", (await patched.Issues())[0].Expression);
        var stored = await (await world.Admin.GetAsync($"/fhir/EpisodeOfCare/{contract.Id}")).ReadResource<EpisodeOfCare>();
        Assert.Equal($"Practitioner/{world.Gp1}", stored.CareManager.Reference);
        Assert.Equal("1", stored.Meta.VersionId);
    }

    [Fact]
    public async Task Terminating_early_needs_a_reason_and_then_the_resident_may_sign_with_another_GP()
    {
        var resident = await world.Resident();
        var contract = world.Contract(resident, world.Gp1, world.Team1);
        contract.Id = await world.Station1Client.CreateId(contract);
        contract.Status = EpisodeOfCare.EpisodeOfCareStatus.Finished;
        var bare = await world.Station1Client.PutAsync($"/fhir/EpisodeOfCare/{contract.Id}", FhirTest.Body(contract));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bare.StatusCode);
        Assert.Contains("termination-reason", await Said(bare));
        contract.Extension.Add(new Extension("https://interop.example/fhir/StructureDefinition/termination-reason", new CodeableConcept { Text = "moved within the district" }));
        var ended = await world.Station1Client.PutAsync($"/fhir/EpisodeOfCare/{contract.Id}", FhirTest.Body(contract));
        Assert.True(ended.StatusCode == HttpStatusCode.OK, await ended.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Created, (await Post(world.Station1Client, world.Contract(resident, world.Gp2, world.Team2))).StatusCode);
        // an ended contract is not reopened
        contract.Status = EpisodeOfCare.EpisodeOfCareStatus.Active;
        Assert.Equal(HttpStatusCode.Conflict, (await world.Station1Client.PutAsync($"/fhir/EpisodeOfCare/{contract.Id}", FhirTest.Body(contract))).StatusCode);
    }

    [Fact]
    public async Task Renew_starts_a_new_year_with_another_GP_and_history_keeps_both_contracts()
    {
        var resident = await world.Resident();
        var old = await world.Station1Client.CreateId(world.Contract(resident, world.Gp1, world.Team1, start: GroupWorld.Today(-300), end: GroupWorld.Today(60)));
        var body = new Parameters();
        body.Add("careManager", GroupWorld.Ref("Practitioner", world.Gp2));
        var renewed = await world.Station1Client.PostAsync($"/fhir/EpisodeOfCare/{old}/$renew", FhirTest.Body(body));
        Assert.True(renewed.StatusCode == HttpStatusCode.Created, await renewed.Content.ReadAsStringAsync());
        Assert.NotNull(renewed.Headers.Location);
        var next = await renewed.ReadResource<EpisodeOfCare>();
        Assert.NotEqual(old, next.Id);
        Assert.Equal(EpisodeOfCare.EpisodeOfCareStatus.Active, next.Status);
        Assert.Equal($"Practitioner/{world.Gp2}", next.CareManager.Reference);
        Assert.Equal($"CareTeam/{world.Team2}", next.Team.Single().Reference); // the team the new GP leads there
        Assert.Equal(GroupWorld.Today(0), next.Period.Start);
        var ended = await (await world.Admin.GetAsync($"/fhir/EpisodeOfCare/{old}")).ReadResource<EpisodeOfCare>();
        Assert.Equal(EpisodeOfCare.EpisodeOfCareStatus.Finished, ended.Status);
        Assert.Equal(GroupWorld.Today(0), ended.Period.End);
        Assert.Equal("renewed", ((CodeableConcept)ended.Extension.Single().Value).Text);
        var history = await (await world.Admin.GetAsync($"/fhir/EpisodeOfCare/{old}/_history")).ReadJson();
        Assert.Equal(2, history["entry"]!.AsArray().Count);
        var all = await (await world.Admin.GetAsync($"/fhir/EpisodeOfCare?patient=Patient/{resident}&_total=accurate")).ReadJson();
        Assert.Equal(2, all["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task Renew_refuses_a_GP_of_another_station_a_stranger_and_what_is_not_a_contract()
    {
        var old = await world.Station1Client.CreateId(world.Contract(await world.Resident(), world.Gp1, world.Team1));
        var body = new Parameters();
        body.Add("careManager", GroupWorld.Ref("Practitioner", world.Gp3));
        body.Add("team", GroupWorld.Ref("CareTeam", world.Team3));
        var elsewhere = await world.Station1Client.PostAsync($"/fhir/EpisodeOfCare/{old}/$renew", FhirTest.Body(body));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, elsewhere.StatusCode);
        var unchanged = await (await world.Admin.GetAsync($"/fhir/EpisodeOfCare/{old}")).ReadResource<EpisodeOfCare>();
        Assert.Equal(EpisodeOfCare.EpisodeOfCareStatus.Active, unchanged.Status);
        // station 2 has no care relationship with the resident: the nested read is refused, nothing is written
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Station2Client.PostAsync($"/fhir/EpisodeOfCare/{old}/$renew", null)).StatusCode);
        var episode = await world.Admin.CreateId(new EpisodeOfCare { Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = GroupWorld.Ref("Patient", await world.Resident()) });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await world.Admin.PostAsync($"/fhir/EpisodeOfCare/{episode}/$renew", null)).StatusCode);
        var bad = new Parameters();
        bad.Add("careManager", new FhirString("Dr Li"));
        Assert.Equal(HttpStatusCode.BadRequest, (await world.Admin.PostAsync($"/fhir/EpisodeOfCare/{old}/$renew", FhirTest.Body(bad))).StatusCode);
    }

    [Fact]
    public async Task Worklists_a_GPs_residents_and_contracts_expiring_within_30_days()
    {
        var gpOnly = await world.Admin.CreateId(new Practitioner { Name = [new HumanName { Family = "Worklist" }] });
        var team = await world.Admin.CreateId(new CareTeam
        {
            Status = CareTeam.CareTeamStatus.Active, ManagingOrganization = [GroupWorld.Ref("Organization", world.Station2)],
            Participant = [new CareTeam.ParticipantComponent { Role = [new CodeableConcept(GroupWorld.TeamRole, "gp-leader")], Member = GroupWorld.Ref("Practitioner", gpOnly) }],
        });
        var soon = await world.Station2Client.CreateId(world.Contract(await world.Resident(), gpOnly, team, world.Station2, GroupWorld.Today(-340), GroupWorld.Today(20)));
        var later = await world.Station2Client.CreateId(world.Contract(await world.Resident(), gpOnly, team, world.Station2));
        var mine = await (await world.Station2Client.GetAsync($"/fhir/EpisodeOfCare?care-manager=Practitioner/{gpOnly}&status=active&_include=EpisodeOfCare:patient")).ReadJson();
        Assert.Equal(new[] { soon, later }.Order(), TestData.Matches(mine).Order());
        Assert.Equal(2, TestData.Matches(mine, "include").Count);
        var expiring = await (await world.Station2Client.GetAsync($"/fhir/EpisodeOfCare?care-manager=Practitioner/{gpOnly}&status=active&period-end=le{GroupWorld.Today(30)}")).ReadJson();
        Assert.Equal([soon], TestData.Matches(expiring));
    }

    [Fact]
    public async Task Worklist_residents_of_a_station_without_an_active_contract()
    {
        var station = await world.Admin.CreateId(new Organization { Name = "Worklist station " + Guid.NewGuid().ToString("N")[..6] });
        async Task<string> Registered() => await world.Admin.CreateId(new Patient { ManagingOrganization = GroupWorld.Ref("Organization", station) });
        var (signed, ended, never) = (await Registered(), await Registered(), await Registered());
        await world.Station1Client.CreateId(world.Contract(signed, world.Gp1, world.Team1));
        var old = world.Contract(ended, world.Gp1, world.Team1, start: GroupWorld.Today(-500), end: GroupWorld.Today(-140));
        old.Status = EpisodeOfCare.EpisodeOfCareStatus.Finished;
        await world.Station1Client.CreateId(old);
        var url = $"/fhir/Patient?organization=Organization/{station}&_has-not:EpisodeOfCare:patient:status=active";
        var uncontracted = await (await world.Admin.GetAsync(url)).ReadJson();
        Assert.Equal(new[] { ended, never }.Order(), TestData.Matches(uncontracted).Order());
        var contracted = await (await world.Admin.GetAsync($"/fhir/Patient?organization=Organization/{station}&_has:EpisodeOfCare:patient:status=active")).ReadJson();
        Assert.Equal([signed], TestData.Matches(contracted));
    }
}
