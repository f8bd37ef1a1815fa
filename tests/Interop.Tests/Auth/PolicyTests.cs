using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Auth;

/// <summary>
/// The group's access policy over real HTTP: an institution sees a resident's data only while it cares for the
/// resident (episode, referral, encounter within the window), the resident's consent can close data to it,
/// break-glass opens it with a reason, and it changes only what it wrote or what is addressed to it.
/// </summary>
public sealed class PolicyTests(PolicyTests.World world) : IClassFixture<PolicyTests.World>
{
    public sealed class World : IAsyncLifetime
    {
        public AuthFixture Server { get; } = new();
        public string Tag { get; } = Guid.NewGuid().ToString("N");
        public string Hosp = "", Station = "", Other = "", P1 = "", P2 = "", Obs1 = "", Obs2 = "", Obs3 = "", Referral = "";
        public HttpClient Admin = null!, Hospital = null!, StationClient = null!, Stranger = null!, Emergency = null!, Group = null!;

        public async System.Threading.Tasks.Task InitializeAsync()
        {
            await ((IAsyncLifetime)Server).InitializeAsync();
            Admin = Server.CreateClient();
            var data = new TestData(Admin);
            Hosp = await data.Create(new Organization { Name = "Hospital" });
            Station = await data.Create(new Organization { Name = "Station" });
            Other = await data.Create(new Organization { Name = "Elsewhere" });
            P1 = await data.Create(new Patient { Name = [new HumanName { Family = "One" }] });
            P2 = await data.Create(new Patient { Name = [new HumanName { Family = "Two" }] });
            await data.Create(new EpisodeOfCare { Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = Ref("Patient", P1), ManagingOrganization = Ref("Organization", Hosp) });
            await data.Create(new ServiceRequest
            {
                Status = RequestStatus.Completed, Intent = RequestIntent.Order, Subject = Ref("Patient", P1), Performer = [Ref("Organization", Station)],
                Occurrence = new Period { Start = "2020-01-01", End = "2020-02-01" },
            });
            await data.Create(new Encounter
            {
                Status = Encounter.EncounterStatus.Finished, Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"),
                Subject = Ref("Patient", P2), ServiceProvider = Ref("Organization", Station),
                Period = new Period { Start = DateTimeOffset.UtcNow.AddDays(-10).ToString("yyyy-MM-dd"), End = DateTimeOffset.UtcNow.AddDays(-10).ToString("yyyy-MM-dd") },
            });
            Referral = await data.Create(new ServiceRequest { Status = RequestStatus.Active, Intent = RequestIntent.Order, Subject = Ref("Patient", P1), Performer = [Ref("Organization", Hosp)] });
            Obs1 = await data.Create(Obs(P1, "1111-1"));
            Obs2 = await data.Create(Obs(P2, "2222-2"));
            var psy = Obs(P1, "3333-3");
            psy.Meta.Security = [new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "PSY")];
            Obs3 = await data.Create(psy);
            Hospital = await Server.ClientWith("hosp-" + Tag[..6], "system/*.cruds", $"Organization/{Hosp}", "clinician");
            StationClient = await Server.ClientWith("station-" + Tag[..6], "system/*.cruds", $"Organization/{Station}", "clinician");
            Stranger = await Server.ClientWith("other-" + Tag[..6], "system/*.cruds", $"Organization/{Other}", "clinician");
            Emergency = await Server.ClientWith("er-" + Tag[..6], "system/*.rs", $"Organization/{Other}", "clinician", "break-glass");
            Group = await Server.ClientWith("centre-" + Tag[..6], "system/*.rs");
        }

        public static ResourceReference Ref(string type, string id) => new($"{type}/{id}");

        public Observation Obs(string patient, string code) => new()
        {
            Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", code), Subject = Ref("Patient", patient),
            Meta = new Meta { Tag = [new Coding("urn:test", Tag)] },
        };

        public async System.Threading.Tasks.Task DisposeAsync() => await ((IAsyncLifetime)Server).DisposeAsync();
    }

    private static async Task<List<string>> Ids(HttpClient client, string url)
    {
        var response = await client.GetAsync(url);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.ReadJson())["entry"]?.AsArray().Select(e => e!["resource"]!["id"]!.GetValue<string>()).ToList() ?? [];
    }

    private string Tagged(string type) => $"/fhir/{type}?_tag=urn:test|{world.Tag}&_total=accurate";

    [Fact]
    public async Task An_institution_sees_the_residents_it_cares_for_and_is_told_why_not_otherwise()
    {
        var hospital = world.Hospital;
        Assert.Equal(HttpStatusCode.OK, (await hospital.GetAsync($"/fhir/Patient/{world.P1}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await hospital.GetAsync($"/fhir/Observation/{world.Obs1}")).StatusCode);
        var refused = await hospital.GetAsync($"/fhir/Patient/{world.P2}");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        var why = (await refused.Issues())[0].Diagnostics;
        Assert.Contains("no care relationship", why);
        Assert.Contains("X-Break-Glass", why);
        Assert.Equal(HttpStatusCode.Forbidden, (await hospital.GetAsync($"/fhir/Observation/{world.Obs2}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await hospital.GetAsync($"/fhir/Patient/{world.P2}/$everything")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await hospital.GetAsync($"/fhir/Observation/{world.Obs2}/_history")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await hospital.GetAsync("/fhir/Observation/not-there")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await hospital.GetAsync($"/fhir/Organization/{world.Other}")).StatusCode); // shared data
    }

    [Fact]
    public async Task Searches_history_and_everything_hold_only_permitted_residents_with_right_totals()
    {
        var hospital = world.Hospital;
        var observations = await Ids(hospital, Tagged("Observation"));
        Assert.Contains(world.Obs1, observations);
        Assert.DoesNotContain(world.Obs2, observations);
        var bundle = await (await hospital.GetAsync(Tagged("Observation"))).ReadJson();
        Assert.Equal(observations.Count, bundle["total"]!.GetValue<int>());
        var withPatients = await Ids(hospital, $"/fhir/Patient?_id={world.P1},{world.P2}&_revinclude=Observation:subject");
        Assert.Contains(world.P1, withPatients);
        Assert.DoesNotContain(world.P2, withPatients);
        Assert.DoesNotContain(world.Obs2, withPatients);
        var included = await Ids(hospital, $"/fhir/Observation?_id={world.Obs1},{world.Obs2}&_include=Observation:subject");
        Assert.DoesNotContain(world.P2, included);
        Assert.DoesNotContain(world.Obs2, await Ids(hospital, "/fhir/Observation/_history"));
        var everything = await Ids(hospital, $"/fhir/Patient/{world.P1}/$everything");
        Assert.Contains(world.Obs1, everything);
        // The group's own systems (no institution) and the admin see both residents.
        foreach (var client in new[] { world.Group, world.Admin })
        {
            var all = await Ids(client, Tagged("Observation"));
            Assert.Contains(world.Obs2, all);
            Assert.Contains(world.Obs1, all);
        }
    }

    [Fact]
    public async Task Validate_and_terminology_go_through_the_pipeline_and_leak_nothing()
    {
        // $validate of a stored instance is a read of it: the policy refuses what the hospital may not see, and
        // nothing of the resource comes back; what it may see validates, and the read is in the access log.
        var refused = await world.Hospital.GetAsync($"/fhir/Observation/{world.Obs2}/$validate");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.DoesNotContain("2222-2", await refused.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await world.Hospital.GetAsync($"/fhir/Observation/{world.Obs1}/$validate")).StatusCode);
        var auditor = await world.Server.ClientWith("aud-v-" + world.Tag[..6], "system/AuditEvent.rs");
        var log = await (await auditor.GetAsync($"/fhir/AuditEvent?patient={world.P1}&agent-org=Organization/{world.Hosp}&subtype=read&_count=50")).ReadJson();
        Assert.NotEmpty(log["entry"]!.AsArray());
        // Scopes apply: a client with only Patient scopes may not validate or expand other types.
        var narrow = await world.Server.ClientWith("narrow-" + world.Tag[..6], "system/Patient.rs", $"Organization/{world.Hosp}", "clinician");
        Assert.Equal(HttpStatusCode.Forbidden, (await narrow.GetAsync($"/fhir/Observation/{world.Obs1}/$validate")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await narrow.GetAsync("/fhir/ValueSet/$expand?url=http://hl7.org/fhir/ValueSet/administrative-gender")).StatusCode);
        // Without a token: 401.
        foreach (var body in new[] { """{"resourceType":"Patient","active":true}""", """{"resourceType":"Patient"}""" }) // valid, and one that does not parse
            Assert.Equal(HttpStatusCode.Unauthorized, (await world.Server.Anonymous().PostAsync("/fhir/Patient/$validate", FhirTest.Body(body))).StatusCode);
    }

    [Fact]
    public async Task A_deleted_resource_the_policy_hides_is_not_found_not_gone()
    {
        // A deletion the hospital did not make is, to it, a resource that does not exist (even of P1, whom it cares for:
        // the deleted version's index is gone, so the policy cannot be asked); its own deletion is 410.
        var hidden = await world.Admin.CreateId(world.Obs(world.P2, "4444-4"));
        var shown = await world.Admin.CreateId(world.Obs(world.P1, "4444-4"));
        foreach (var id in new[] { hidden, shown })
            Assert.Equal(HttpStatusCode.NoContent, (await world.Admin.DeleteAsync($"/fhir/Observation/{id}")).StatusCode);
        var refused = await world.Hospital.GetAsync($"/fhir/Observation/{hidden}");
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.DoesNotContain("deleted", await refused.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await world.Hospital.GetAsync("/fhir/Observation/never-there")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await world.Hospital.GetAsync($"/fhir/Observation/{shown}")).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await world.Admin.GetAsync($"/fhir/Observation/{hidden}")).StatusCode);
        var own = await world.Hospital.CreateId(world.Obs(world.P1, "4444-4"));
        Assert.Equal(HttpStatusCode.NoContent, (await world.Hospital.DeleteAsync($"/fhir/Observation/{own}")).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await world.Hospital.GetAsync($"/fhir/Observation/{own}")).StatusCode);
    }

    [Fact]
    public async Task A_referral_ended_beyond_the_window_no_longer_opens_the_record_and_a_recent_encounter_does()
    {
        var station = world.StationClient;
        Assert.Equal(HttpStatusCode.Forbidden, (await station.GetAsync($"/fhir/Patient/{world.P1}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await station.GetAsync($"/fhir/Patient/{world.P2}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await station.GetAsync($"/fhir/Observation/{world.Obs2}")).StatusCode);
    }

    [Fact]
    public async Task A_residents_consent_closes_labelled_data_or_the_whole_record_to_one_institution()
    {
        var server = world.Server;
        var before = await Ids(world.Hospital, Tagged("Observation"));
        Assert.Contains(world.Obs3, before);
        var consent = new Consent
        {
            Status = Consent.ConsentState.Active,
            Scope = new CodeableConcept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy"),
            PolicyRule = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTOUT"), // ppc-1: a policy or a rule
            Category = [new CodeableConcept("http://loinc.org", "59284-0")],
            Patient = World.Ref("Patient", world.P1),
            Provision = new Consent.provisionComponent
            {
                Type = Consent.ConsentProvisionType.Deny,
                Actor = [new Consent.provisionActorComponent { Role = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP"), Reference = World.Ref("Organization", world.Hosp) }],
                SecurityLabel = [new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "PSY")],
            },
        };
        var consentId = await world.Admin.CreateId(consent);
        var after = await Ids(world.Hospital, Tagged("Observation"));
        Assert.Contains(world.Obs1, after);
        Assert.DoesNotContain(world.Obs3, after);
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Hospital.GetAsync($"/fhir/Observation/{world.Obs3}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await world.Hospital.GetAsync($"/fhir/Observation/{world.Obs1}")).StatusCode);
        // The same consent denying everything closes the whole record; withdrawing it (inactive) opens it again.
        consent.Id = consentId;
        consent.Provision.SecurityLabel.Clear();
        Assert.Equal(HttpStatusCode.OK, (await world.Admin.PutAsync($"/fhir/Consent/{consentId}", FhirTest.Body(consent))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Hospital.GetAsync($"/fhir/Patient/{world.P1}")).StatusCode);
        consent.Status = Consent.ConsentState.Inactive;
        Assert.Equal(HttpStatusCode.OK, (await world.Admin.PutAsync($"/fhir/Consent/{consentId}", FhirTest.Body(consent))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await world.Hospital.GetAsync($"/fhir/Patient/{world.P1}")).StatusCode);
        Assert.NotNull(server);
    }

    [Fact]
    public async Task Break_the_glass_needs_the_role_and_a_reason_and_passes_the_policy_but_not_the_scopes()
    {
        var url = $"/fhir/Patient/{world.P1}";
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Emergency.GetAsync(url)).StatusCode);
        async Task<HttpResponseMessage> With(HttpClient client, string reason, string path)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation("X-Break-Glass", reason);
            return await client.SendAsync(request);
        }
        var blank = await With(world.Emergency, "   ", url);
        Assert.Equal(HttpStatusCode.BadRequest, blank.StatusCode);
        Assert.Equal("X-Break-Glass", (await blank.Issues())[0].Expression);
        Assert.Equal(HttpStatusCode.OK, (await With(world.Emergency, "unconscious in the emergency room", url)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await With(world.Stranger, "curious", url)).StatusCode); // no break-glass role
        // Never past the scopes: this client may only read and search.
        var delete = new HttpRequestMessage(HttpMethod.Delete, $"/fhir/Observation/{world.Obs1}");
        delete.Headers.TryAddWithoutValidation("X-Break-Glass", "emergency");
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Emergency.SendAsync(delete)).StatusCode);
    }

    [Fact]
    public async Task An_institution_writes_for_residents_it_treats_and_changes_only_what_it_wrote_or_what_is_addressed_to_it()
    {
        var hospital = world.Hospital;
        var own = await hospital.PostAsync("/fhir/Observation", FhirTest.Body(world.Obs(world.P1, "4444-4")));
        Assert.Equal(HttpStatusCode.Created, own.StatusCode);
        var ownId = (await own.ReadJson())["id"]!.GetValue<string>();
        var stranger = await world.Stranger.PostAsync("/fhir/Observation", FhirTest.Body(world.Obs(world.P1, "4444-4")));
        Assert.Equal(HttpStatusCode.Forbidden, stranger.StatusCode);
        Assert.Contains("no care relationship", (await stranger.Issues())[0].Diagnostics);
        // What it wrote itself it may change; what another wrote, not; a referral addressed to it, yes.
        var mine = world.Obs(world.P1, "4444-5");
        mine.Id = ownId;
        Assert.Equal(HttpStatusCode.OK, (await hospital.PutAsync($"/fhir/Observation/{ownId}", FhirTest.Body(mine))).StatusCode);
        var theirs = world.Obs(world.P1, "1111-2");
        theirs.Id = world.Obs1;
        var changeTheirs = await hospital.PutAsync($"/fhir/Observation/{world.Obs1}", FhirTest.Body(theirs));
        Assert.Equal(HttpStatusCode.Forbidden, changeTheirs.StatusCode);
        Assert.Contains("only what it wrote", (await changeTheirs.Issues())[0].Diagnostics);
        Assert.Equal(HttpStatusCode.Forbidden, (await hospital.DeleteAsync($"/fhir/Observation/{world.Obs1}")).StatusCode);
        var referral = await (await world.Admin.GetAsync($"/fhir/ServiceRequest/{world.Referral}")).ReadResource<ServiceRequest>();
        referral.Status = RequestStatus.Completed;
        Assert.Equal(HttpStatusCode.OK, (await hospital.PutAsync($"/fhir/ServiceRequest/{world.Referral}", FhirTest.Body(referral))).StatusCode);
        // Recording an encounter starts the relationship: the stranger then sees the resident.
        var encounter = new Encounter
        {
            Status = Encounter.EncounterStatus.InProgress, Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "EMER"),
            Subject = World.Ref("Patient", world.P2), ServiceProvider = World.Ref("Organization", world.Other),
        };
        var before = await world.Stranger.GetAsync($"/fhir/Patient/{world.P2}");
        Assert.Equal(HttpStatusCode.Forbidden, before.StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await world.Stranger.PostAsync("/fhir/Encounter", FhirTest.Body(encounter))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await world.Stranger.GetAsync($"/fhir/Patient/{world.P2}")).StatusCode);
    }

    [Fact]
    public async Task An_include_brings_a_resident_the_institution_cares_for_and_not_one_it_does_not()
    {
        // The hospital's resident's observation, whose focus (not a compartment reference) is the other resident.
        var obs = await world.Admin.CreateId(new Observation
        {
            Status = ObservationStatus.Final, Code = new CodeableConcept("urn:test", world.Tag),
            Subject = World.Ref("Patient", world.P1), Focus = [World.Ref("Patient", world.P2)],
        });
        var subject = await Ids(world.Hospital, $"/fhir/Observation?_id={obs}&_include=Observation:subject");
        Assert.Contains(obs, subject);
        Assert.Contains(world.P1, subject);
        var focus = await Ids(world.Hospital, $"/fhir/Observation?_id={obs}&_include=Observation:focus:Patient");
        Assert.Contains(obs, focus);
        Assert.DoesNotContain(world.P2, focus);
        // The group's own system sees both.
        Assert.Contains(world.P2, await Ids(world.Group, $"/fhir/Observation?_id={obs}&_include=Observation:focus:Patient"));
    }

    [Fact]
    public async Task Resources_that_name_no_resident_are_the_directorys_and_shared_a_residents_are_not()
    {
        var directory = await world.Admin.CreateId(new CareTeam { Name = "Family doctor team " + world.Tag, Meta = new Meta { Tag = [new Coding("urn:test", world.Tag)] } });
        var residents = await world.Admin.CreateId(new CareTeam { Subject = World.Ref("Patient", world.P2), Meta = new Meta { Tag = [new Coding("urn:test", world.Tag)] } });
        Assert.Equal(HttpStatusCode.OK, (await world.Stranger.GetAsync($"/fhir/CareTeam/{directory}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Stranger.GetAsync($"/fhir/CareTeam/{residents}")).StatusCode);
        var found = await Ids(world.Stranger, Tagged("CareTeam"));
        Assert.Contains(directory, found);
        Assert.DoesNotContain(residents, found);
    }
}
