using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Auth;

/// <summary>
/// The leak matrix for a resident's patient-scoped token: every read path (read, vread, search with _include,
/// _revinclude, chains and _has, history at each level, $everything, transaction and batch GET entries, XML)
/// returns nothing of another patient, and writes stay in the resident's compartment.
/// </summary>
public sealed class PatientLeakTests(PatientLeakTests.World world) : IClassFixture<PatientLeakTests.World>
{
    public sealed class World : IAsyncLifetime
    {
        public AuthFixture Server { get; } = new();
        public string Tag { get; } = Guid.NewGuid().ToString("N");
        public string A = "", B = "", ObsA = "", ObsB = "", EncB = "", Doc = "", FamilyB = "";
        public HttpClient Resident = null!;

        public async System.Threading.Tasks.Task InitializeAsync()
        {
            await ((IAsyncLifetime)Server).InitializeAsync();
            var admin = Server.CreateClient();
            var data = new TestData(admin);
            FamilyB = "Other" + Tag[..6];
            Doc = await data.Create(new Practitioner { Name = [new HumanName { Family = "Shared" }] });
            A = await data.Create(new Patient { Name = [new HumanName { Family = "Self" + Tag[..6] }] });
            B = await data.Create(new Patient { Name = [new HumanName { Family = FamilyB }] });
            ObsA = await data.Create(Obs(A, "1111-1"));
            ObsB = await data.Create(Obs(B, "2222-2"));
            EncB = await data.Create(new Encounter { Status = Encounter.EncounterStatus.Finished, Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"), Subject = new ResourceReference($"Patient/{B}") });
            await admin.PutAsync($"/fhir/Observation/{ObsB}", FhirTest.Body(WithId(Obs(B, "2222-2"), ObsB))); // a second version of B's data
            const string password = "Correct-Horse-42";
            await Server.RegisterOrFail("/admin/users", new { username = "self-" + Tag[..8], password, fhirUser = $"Patient/{A}" });
            await Server.RegisterOrFail("/admin/clients", new { clientId = "portal-" + Tag[..8], type = "public", redirectUris = new[] { AuthFixture.Redirect }, scopes = "launch/patient patient/*.cruds openid fhirUser" });
            var (code, verifier) = await Server.Launch("portal-" + Tag[..8], "launch/patient patient/*.cruds", "self-" + Tag[..8], password);
            var (_, token) = await Server.Exchange("portal-" + Tag[..8], code, verifier);
            Resident = Server.Bearer(token.GetProperty("access_token").GetString()!);
        }

        public Observation Obs(string patient, string code) => new()
        {
            Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", code),
            Subject = new ResourceReference($"Patient/{patient}"), Performer = [new ResourceReference($"Practitioner/{Doc}")],
            Meta = new Meta { Tag = [new Coding("urn:test", Tag)] },
        };

        public static Observation WithId(Observation o, string id) { o.Id = id; return o; }

        public async System.Threading.Tasks.Task DisposeAsync() => await ((IAsyncLifetime)Server).DisposeAsync();
    }

    private HttpClient Resident => world.Resident;

    private async Task<List<string>> Keys(string url)
    {
        var response = await Resident.GetAsync(url);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return Keys(await response.ReadJson());
    }

    private static List<string> Keys(JsonObject bundle) =>
        bundle["entry"]?.AsArray().Where(e => e!["resource"] is not null)
            .Select(e => $"{e!["resource"]!["resourceType"]!.GetValue<string>()}/{e["resource"]!["id"]!.GetValue<string>()}").ToList() ?? [];

    private bool AnythingOfB(List<string> keys) =>
        keys.Contains($"Patient/{world.B}") || keys.Contains($"Observation/{world.ObsB}") || keys.Contains($"Encounter/{world.EncB}");

    [Fact]
    public async Task Reads_of_the_other_patients_data_are_404_like_anything_missing()
    {
        Assert.Equal(HttpStatusCode.OK, (await Resident.GetAsync($"/fhir/Patient/{world.A}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Resident.GetAsync($"/fhir/Observation/{world.ObsA}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Resident.GetAsync($"/fhir/Practitioner/{world.Doc}")).StatusCode); // shared, not a patient's
        foreach (var url in new[]
                 {
                     $"/fhir/Patient/{world.B}", $"/fhir/Observation/{world.ObsB}", $"/fhir/Observation/{world.ObsB}/_history/1",
                     $"/fhir/Encounter/{world.EncB}", $"/fhir/Patient/{world.B}?_format=xml", $"/fhir/Observation/{world.ObsB}?_format=json&_summary=true",
                     $"/fhir/Observation/{world.ObsB}/_history", $"/fhir/Patient/{world.B}/$everything",
                 })
        {
            var response = await Resident.GetAsync(url);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{url}: {(int)response.StatusCode}");
            var text = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain(world.FamilyB, text);
        }
        var missing = await (await Resident.GetAsync("/fhir/Observation/does-not-exist")).Issues();
        var hidden = await (await Resident.GetAsync($"/fhir/Observation/{world.ObsB}")).Issues();
        Assert.Equal(missing[0].Diagnostics.Replace("does-not-exist", "X"), hidden[0].Diagnostics.Replace(world.ObsB, "X"));
    }

    [Fact]
    public async Task Has_through_shared_data_does_not_tell_of_the_other_patients_data()
    {
        // The practitioner is shared; that he examined B (code 2222-2) must not show through _has or _has-not.
        var doc = $"Practitioner/{world.Doc}";
        Assert.Equal([doc], await Keys($"/fhir/Practitioner?_id={world.Doc}&_has:Observation:performer:code=http://loinc.org|1111-1"));
        Assert.Empty(await Keys($"/fhir/Practitioner?_id={world.Doc}&_has:Observation:performer:code=http://loinc.org|2222-2"));
        Assert.Empty(await Keys($"/fhir/Practitioner?_id={world.Doc}&_has:Observation:performer:subject=Patient/{world.B}"));
        Assert.Equal([doc], await Keys($"/fhir/Practitioner?_id={world.Doc}&_has-not:Observation:performer:code=http://loinc.org|2222-2"));
        var admin = world.Server.CreateClient();
        var all = await (await admin.GetAsync($"/fhir/Practitioner?_id={world.Doc}&_has:Observation:performer:code=http://loinc.org|2222-2")).ReadJson();
        Assert.Equal([doc], Keys(all));
    }

    [Fact]
    public async Task A_chain_from_the_residents_own_data_does_not_reach_the_other_patient()
    {
        // The resident's own observation names B as its focus: the chain's Patient hop must not match B.
        var admin = world.Server.CreateClient();
        var obs = world.Obs(world.A, "5555-5");
        obs.Meta.Tag.Clear();
        obs.Focus = [new ResourceReference($"Patient/{world.B}")];
        var id = await admin.CreateId(obs);
        var own = $"Observation/{id}";
        Assert.Equal([own], await Keys($"/fhir/Observation?_id={id}"));
        var chain = $"/fhir/Observation?_id={id}&focus:Patient.family={world.FamilyB}";
        Assert.Empty(await Keys(chain));
        Assert.Equal([own], Keys(await (await admin.GetAsync(chain)).ReadJson()));
    }

    [Theory]
    [InlineData("Observation?_tag={tag}")]
    [InlineData("Observation?subject=Patient/{B}")]
    [InlineData("Observation?_id={ObsB}")]
    [InlineData("Observation?_tag={tag}&_include=Observation:subject")]
    [InlineData("Observation?_tag={tag}&_include=*")]
    [InlineData("Patient?_id={A},{B}&_revinclude=Observation:subject")]
    [InlineData("Practitioner?_id={Doc}&_revinclude=Observation:performer")]
    [InlineData("Practitioner?_id={Doc}&_revinclude=Observation:performer&_include:iterate=Observation:subject")]
    [InlineData("Observation?subject:Patient.name={familyB}")]
    [InlineData("Patient?_has:Observation:subject:code=2222-2")]
    [InlineData("Patient")]
    [InlineData("Encounter")]
    [InlineData("?_type=Patient,Observation,Encounter")]
    [InlineData("?_type=Observation&_tag={tag}")]
    [InlineData("Patient/{B}/Observation")]
    [InlineData("Observation/_history")]
    [InlineData("_history")]
    [InlineData("Patient/{A}/$everything")]
    public async Task Searches_history_and_everything_return_nothing_of_the_other_patient(string query)
    {
        var url = "/fhir/" + query.Replace("{tag}", "urn:test|" + world.Tag).Replace("{A}", world.A).Replace("{B}", world.B)
            .Replace("{ObsB}", world.ObsB).Replace("{Doc}", world.Doc).Replace("{familyB}", world.FamilyB);
        Assert.False(AnythingOfB(await Keys(url)), url);
        // The same query with the admin's token does find the other patient's data: the test can fail.
        if (!query.Contains("$everything"))
        {
            var control = await world.Server.CreateClient().GetAsync(url);
            Assert.True(AnythingOfB(Keys(await control.ReadJson())), "control: " + url);
        }
    }

    [Fact]
    public async Task The_residents_own_data_does_come_back_with_includes()
    {
        var keys = await Keys($"/fhir/Observation?_tag=urn:test|{world.Tag}&_include=Observation:subject&_include=Observation:performer");
        Assert.Contains($"Observation/{world.ObsA}", keys);
        Assert.Contains($"Patient/{world.A}", keys);
        Assert.Contains($"Practitioner/{world.Doc}", keys);
        // The total counts what the resident may see (the confinement is in the SQL, not a filter after it).
        var counted = await (await Resident.GetAsync($"/fhir/Observation?_tag=urn:test|{world.Tag}&_total=accurate")).ReadJson();
        Assert.True(counted["total"]!.GetValue<int>() >= 1);
        Assert.Equal(Keys(counted).Count, counted["total"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("batch")]
    [InlineData("transaction")]
    public async Task Bundle_GET_entries_are_confined_too(string type)
    {
        var bundle = $$$"""
            {"resourceType":"Bundle","type":"{{{type}}}","entry":[
              {"request":{"method":"GET","url":"Patient/{{{world.A}}}"}},
              {"request":{"method":"GET","url":"Patient/{{{world.B}}}"}},
              {"request":{"method":"GET","url":"Observation?subject=Patient/{{{world.B}}}"}},
              {"request":{"method":"GET","url":"Observation?_tag=urn:test|{{{world.Tag}}}&_include=Observation:subject"}}]}
            """;
        var response = await Resident.PostAsync("/fhir", FhirTest.Body(bundle));
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(world.FamilyB, text);
        Assert.DoesNotContain(world.ObsB, text);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var statuses = (await response.ReadJson())["entry"]!.AsArray().Select(e => e!["response"]!["status"]!.GetValue<string>()).ToList();
        Assert.StartsWith("200", statuses[0]);
        Assert.StartsWith("404", statuses[1]); // worded as missing, in a batch and in a transaction alike
    }

    [Fact]
    public async Task Writes_stay_in_the_residents_compartment()
    {
        var own = await Resident.PostAsync("/fhir/Observation", FhirTest.Body(world.Obs(world.A, "3333-3")));
        Assert.Equal(HttpStatusCode.Created, own.StatusCode);
        var other = await Resident.PostAsync("/fhir/Observation", FhirTest.Body(world.Obs(world.B, "3333-3")));
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Contains($"must reference Patient/{world.A}", (await other.Issues())[0].Diagnostics);
        Assert.Equal(HttpStatusCode.NotFound, (await Resident.PutAsync($"/fhir/Observation/{world.ObsB}", FhirTest.Body(World.WithId(world.Obs(world.A, "4444-4"), world.ObsB)))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Resident.DeleteAsync($"/fhir/Observation/{world.ObsB}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Resident.PostAsync("/fhir/Patient", FhirTest.Body(new Patient { Active = true }))).StatusCode);
        var conditional = new HttpRequestMessage(HttpMethod.Post, "/fhir/Observation") { Content = FhirTest.Body(world.Obs(world.A, "5555-5")) };
        conditional.Headers.TryAddWithoutValidation("If-None-Exist", "code=2222-2");
        Assert.Equal(HttpStatusCode.Forbidden, (await Resident.SendAsync(conditional)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Resident.DeleteAsync("/fhir/Observation?code=2222-2")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Resident.PostAsync("/fhir/Patient/$match", FhirTest.Body("""{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","name":[{"family":"Other"}]}}]}"""))).StatusCode);
        var admin = world.Server.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/fhir/Observation/{world.ObsB}")).StatusCode); // untouched
        Assert.Equal("2", (await (await admin.GetAsync($"/fhir/Observation/{world.ObsB}")).ReadJson())["meta"]!["versionId"]!.GetValue<string>());
    }
}
