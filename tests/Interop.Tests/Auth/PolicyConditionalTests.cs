using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Auth;

/// <summary>
/// Conditional create, update, patch and delete and Patient/$match for a client acting for an institution, over REST
/// and as transaction entries: the criteria are matched under the access policy (what it may not see is never matched,
/// counted or named: the answer is the one it gets when nothing exists at all), and the outcome is held to the write
/// rules (change what it wrote, create for residents it cares for).
/// </summary>
public sealed class PolicyConditionalTests(PolicyConditionalTests.World world) : IClassFixture<PolicyConditionalTests.World>
{
    public const string ResidentId = "https://interop.example/fhir/sid/resident-id";

    public sealed class World : IAsyncLifetime
    {
        public AuthFixture Server { get; } = new();
        public string Tag { get; } = Guid.NewGuid().ToString("N");
        public string Hosp = "", Other = "", Cared = "", Hidden = "", HiddenResidentId = "", CaredResidentId = "";
        public HttpClient Admin = null!, Hospital = null!, Group = null!, Emergency = null!;

        public string System => "urn:test:obs-" + Tag;

        public async System.Threading.Tasks.Task InitializeAsync()
        {
            await ((IAsyncLifetime)Server).InitializeAsync();
            Admin = Server.CreateClient();
            Hosp = await Admin.CreateId(new Organization { Name = "Hospital " + Tag });
            Other = await Admin.CreateId(new Organization { Name = "Elsewhere " + Tag });
            CaredResidentId = "RES-C-" + Tag;
            HiddenResidentId = "RES-H-" + Tag;
            Cared = await Admin.CreateId(Resident("Cared", CaredResidentId));
            Hidden = await Admin.CreateId(Resident("Hidden", HiddenResidentId));
            await Admin.CreateId(new EpisodeOfCare { Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = Ref("Patient", Cared), ManagingOrganization = Ref("Organization", Hosp) });
            Hospital = await Server.ClientWith("hosp-c-" + Tag[..6], "system/*.cruds", $"Organization/{Hosp}", "clinician");
            Group = await Server.ClientWith("centre-c-" + Tag[..6], "system/*.cruds");
            Emergency = await Server.ClientWith("er-c-" + Tag[..6], "system/*.cruds", $"Organization/{Other}", "clinician", "break-glass");
        }

        public Patient Resident(string family, string residentId) => new()
        {
            Identifier = [new Identifier(ResidentId, residentId)], Name = [new HumanName { Family = family + Tag[..8], Given = ["Mei"] }],
            Gender = AdministrativeGender.Female, BirthDate = "1941-02-03",
        };

        public static ResourceReference Ref(string type, string id) => new($"{type}/{id}");

        /// <summary>An Observation about a resident, findable by identifier <paramref name="value"/> of this world's system.</summary>
        public Observation Obs(string patient, string value) => new()
        {
            Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "8867-4"), Subject = Ref("Patient", patient),
            Identifier = [new Identifier(System, value)], Meta = new Meta { Tag = [new Coding("urn:test", Tag)] },
        };

        public async System.Threading.Tasks.Task DisposeAsync() => await ((IAsyncLifetime)Server).DisposeAsync();
    }

    private string Unique(string what) => $"{what}-{Guid.NewGuid():N}";
    private string Criteria(string value) => $"identifier={world.System}|{value}";

    private static StringContent JsonPatch(string status) =>
        FhirTest.Body($$"""[{"op":"replace","path":"/status","value":"{{status}}"}]""", "application/json-patch+json");

    private static async Task<HttpResponseMessage> Send(HttpClient client, HttpMethod method, string url, HttpContent? body = null, string? ifNoneExist = null)
    {
        var request = new HttpRequestMessage(method, url) { Content = body };
        if (ifNoneExist is not null) request.Headers.TryAddWithoutValidation("If-None-Exist", ifNoneExist);
        return await client.SendAsync(request);
    }

    private static async Task<HttpResponseMessage> Transaction(HttpClient client, params JsonObject[] entries)
    {
        var bundle = new JsonObject { ["resourceType"] = "Bundle", ["type"] = "transaction", ["entry"] = new JsonArray(entries) };
        return await client.PostAsync("/fhir", FhirTest.Body(bundle.ToJsonString()));
    }

    private static JsonObject Entry(string method, string url, Resource? resource = null, string? ifNoneExist = null)
    {
        var request = new JsonObject { ["method"] = method, ["url"] = url };
        if (ifNoneExist is not null) request["ifNoneExist"] = ifNoneExist;
        var entry = new JsonObject { ["request"] = request };
        if (resource is not null) entry["resource"] = JsonNode.Parse(resource.ToJson());
        return entry;
    }

    /// <summary>A resident registered by the group whom the hospital does not care for (one per test: the hospital's own registrations of them would be visible to it).</summary>
    private async Task<(string Id, string ResidentId)> HiddenResident()
    {
        var residentId = Unique("RES-H");
        return (await world.Admin.CreateId(world.Resident("Hidden", residentId)), residentId);
    }

    private static JsonObject PatchEntry(string url, string status) => new()
    {
        ["resource"] = new JsonObject
        {
            ["resourceType"] = "Binary", ["contentType"] = "application/json-patch+json",
            ["data"] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($$"""[{"op":"replace","path":"/status","value":"{{status}}"}]""")),
        },
        ["request"] = new JsonObject { ["method"] = "PATCH", ["url"] = url },
    };

    /// <summary>What a caller learns from an answer: its status and, for an OperationOutcome, the diagnostics (with the criteria's value blanked); for a transaction, the entries' statuses.</summary>
    private static async Task<string> Shape(HttpResponseMessage response, string value)
    {
        var text = await response.Content.ReadAsStringAsync();
        var shape = $"{(int)response.StatusCode}";
        if (text.Length == 0) return shape;
        var body = JsonNode.Parse(text)!.AsObject();
        switch (body["resourceType"]!.GetValue<string>())
        {
            case "OperationOutcome":
                shape += " " + string.Join(" | ", body["issue"]!.AsArray().Select(i => i!["diagnostics"]?.GetValue<string>()));
                break;
            case "Bundle":
                shape += " " + string.Join(",", body["entry"]!.AsArray().Select(e => e!["response"]!["status"]!.GetValue<string>()));
                break;
            default:
                shape += " " + body["resourceType"]!.GetValue<string>();
                break;
        }
        return shape.Replace(value, "VALUE");
    }

    /// <summary>The same call against a hidden resource and against nothing at all: the caller must not tell them apart.</summary>
    private async Task<string> Indistinguishable(Func<string, Task<HttpResponseMessage>> call, string hiddenValue)
    {
        var none = Unique("none");
        var withHidden = await Shape(await call(hiddenValue), hiddenValue);
        var withNothing = await Shape(await call(none), none);
        Assert.Equal(withNothing, withHidden);
        return withHidden;
    }

    private async Task<(string Id, int Version)> Current(string type, string id)
    {
        var response = await world.Admin.GetAsync($"/fhir/{type}/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await response.ReadJson();
        return (json["id"]!.GetValue<string>(), int.Parse(json["meta"]!["versionId"]!.GetValue<string>()));
    }

    private static async Task<string> IdOf(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!["id"]!.GetValue<string>();
    }

    // ------------------------------------------------------------------ conditional update

    [Fact]
    public async Task Conditional_update_changes_its_own_match_refuses_one_it_may_only_see_and_counts_only_what_it_sees()
    {
        var own = Unique("own");
        var ownId = await world.Hospital.CreateId(world.Obs(world.Cared, own));
        var changed = world.Obs(world.Cared, own);
        changed.Status = ObservationStatus.Amended;
        Assert.Equal(ownId, await IdOf(await Send(world.Hospital, HttpMethod.Put, $"/fhir/Observation?{Criteria(own)}", FhirTest.Body(changed)), HttpStatusCode.OK));
        Assert.Equal(2, (await Current("Observation", ownId)).Version);

        // Another's Observation of a resident it cares for: visible, not changeable, refused as a plain update is.
        var theirs = Unique("theirs");
        var theirsId = await world.Admin.CreateId(world.Obs(world.Cared, theirs));
        var refused = await Send(world.Hospital, HttpMethod.Put, $"/fhir/Observation?{Criteria(theirs)}", FhirTest.Body(world.Obs(world.Cared, theirs)));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains($"may change only what it wrote", (await refused.Issues())[0].Diagnostics);
        Assert.Equal(1, (await Current("Observation", theirsId)).Version);

        // Two it may see: 412.
        var twice = Unique("twice");
        await world.Hospital.CreateId(world.Obs(world.Cared, twice));
        await world.Hospital.CreateId(world.Obs(world.Cared, twice));
        Assert.Equal(HttpStatusCode.PreconditionFailed,
            (await Send(world.Hospital, HttpMethod.Put, $"/fhir/Observation?{Criteria(twice)}", FhirTest.Body(world.Obs(world.Cared, twice)))).StatusCode);

        // Its own and one of a resident it may not see: only its own is counted, and updated.
        var mixed = Unique("mixed");
        var mine = await world.Hospital.CreateId(world.Obs(world.Cared, mixed));
        var hidden = await world.Admin.CreateId(world.Obs(world.Hidden, mixed));
        Assert.Equal(mine, await IdOf(await Send(world.Hospital, HttpMethod.Put, $"/fhir/Observation?{Criteria(mixed)}", FhirTest.Body(world.Obs(world.Cared, mixed))), HttpStatusCode.OK));
        Assert.Equal(1, (await Current("Observation", hidden)).Version);
    }

    [Fact]
    public async Task Conditional_update_never_matches_a_resource_it_may_not_see_and_answers_as_if_there_were_none()
    {
        // Data about a resident it does not care for: a create, refused for the body's resident, worded alike either way.
        var hiddenValue = Unique("hidden");
        var hidden = await world.Admin.CreateId(world.Obs(world.Hidden, hiddenValue));
        var shape = await Indistinguishable(v => Send(world.Hospital, HttpMethod.Put, $"/fhir/Observation?{Criteria(v)}", FhirTest.Body(world.Obs(world.Hidden, v))), hiddenValue);
        Assert.StartsWith("403", shape);
        Assert.Contains("no care relationship", shape);
        // About a resident it cares for: a new Observation of its own, as if there were none; the hidden one is untouched.
        var created = await Indistinguishable(v => Send(world.Hospital, HttpMethod.Put, $"/fhir/Observation?{Criteria(v)}", FhirTest.Body(world.Obs(world.Cared, v))), hiddenValue);
        Assert.Equal("201 Observation", created);
        Assert.Equal(1, (await Current("Observation", hidden)).Version);
        // A resident it may not see, by the group's resident id: a registration of its own (a duplicate the group links, see $match).
        var (resident, residentId) = await HiddenResident();
        var patient = await Indistinguishable(v => Send(world.Hospital, HttpMethod.Put, $"/fhir/Patient?identifier={ResidentId}|{v}", FhirTest.Body(world.Resident("Hidden", v))), residentId);
        Assert.Equal("201 Patient", patient);
        Assert.Equal(1, (await Current("Patient", resident)).Version);
    }

    // ------------------------------------------------------------------ conditional create

    [Fact]
    public async Task Conditional_create_returns_a_match_it_may_see_and_creates_when_it_sees_none()
    {
        var own = Unique("own");
        var ownId = await world.Hospital.CreateId(world.Obs(world.Cared, own));
        Assert.Equal(ownId, await IdOf(await Send(world.Hospital, HttpMethod.Post, "/fhir/Observation", FhirTest.Body(world.Obs(world.Cared, own)), Criteria(own)), HttpStatusCode.OK));
        // Visible though not its own: FHIR returns the existing one (it may read it anyway).
        var theirs = Unique("theirs");
        var theirsId = await world.Admin.CreateId(world.Obs(world.Cared, theirs));
        Assert.Equal(theirsId, await IdOf(await Send(world.Hospital, HttpMethod.Post, "/fhir/Observation", FhirTest.Body(world.Obs(world.Cared, theirs)), Criteria(theirs)), HttpStatusCode.OK));
        var twice = Unique("twice");
        await world.Hospital.CreateId(world.Obs(world.Cared, twice));
        await world.Admin.CreateId(world.Obs(world.Cared, twice));
        Assert.Equal(HttpStatusCode.PreconditionFailed,
            (await Send(world.Hospital, HttpMethod.Post, "/fhir/Observation", FhirTest.Body(world.Obs(world.Cared, twice)), Criteria(twice))).StatusCode);
        // A hidden one besides its own is not counted.
        var mixed = Unique("mixed");
        var mine = await world.Hospital.CreateId(world.Obs(world.Cared, mixed));
        await world.Admin.CreateId(world.Obs(world.Hidden, mixed));
        Assert.Equal(mine, await IdOf(await Send(world.Hospital, HttpMethod.Post, "/fhir/Observation", FhirTest.Body(world.Obs(world.Cared, mixed)), Criteria(mixed)), HttpStatusCode.OK));
    }

    [Fact]
    public async Task Conditional_create_never_returns_or_reveals_a_resource_it_may_not_see()
    {
        var hiddenValue = Unique("hidden");
        await world.Admin.CreateId(world.Obs(world.Hidden, hiddenValue));
        var refused = await Indistinguishable(v => Send(world.Hospital, HttpMethod.Post, "/fhir/Observation", FhirTest.Body(world.Obs(world.Hidden, v)), Criteria(v)), hiddenValue);
        Assert.StartsWith("403", refused);
        // The group's resident id of a resident it may not see: a new registration, never the hidden one.
        var (resident, residentId) = await HiddenResident();
        Task<HttpResponseMessage> Register(string v) =>
            Send(world.Hospital, HttpMethod.Post, "/fhir/Patient", FhirTest.Body(world.Resident("Hidden", v)), $"identifier={ResidentId}|{v}");
        Assert.Equal("201 Patient", await Indistinguishable(Register, residentId));
        var again = await Register(Unique("RES-H")); // the hidden resident's id never comes back
        Assert.DoesNotContain(resident, await again.Content.ReadAsStringAsync());
        Assert.Equal(1, (await Current("Patient", resident)).Version);
    }

    // ------------------------------------------------------------------ conditional patch

    [Fact]
    public async Task Conditional_patch_patches_its_own_refuses_anothers_and_finds_nothing_it_may_not_see()
    {
        var own = Unique("own");
        var ownId = await world.Hospital.CreateId(world.Obs(world.Cared, own));
        Assert.Equal(ownId, await IdOf(await Send(world.Hospital, HttpMethod.Patch, $"/fhir/Observation?{Criteria(own)}", JsonPatch("amended")), HttpStatusCode.OK));
        var theirs = Unique("theirs");
        var theirsId = await world.Admin.CreateId(world.Obs(world.Cared, theirs));
        var refused = await Send(world.Hospital, HttpMethod.Patch, $"/fhir/Observation?{Criteria(theirs)}", JsonPatch("amended"));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("may change only what it wrote", (await refused.Issues())[0].Diagnostics);
        Assert.Equal(1, (await Current("Observation", theirsId)).Version);
        var twice = Unique("twice");
        await world.Hospital.CreateId(world.Obs(world.Cared, twice));
        await world.Hospital.CreateId(world.Obs(world.Cared, twice));
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await Send(world.Hospital, HttpMethod.Patch, $"/fhir/Observation?{Criteria(twice)}", JsonPatch("amended"))).StatusCode);
        var hiddenValue = Unique("hidden");
        var hidden = await world.Admin.CreateId(world.Obs(world.Hidden, hiddenValue));
        Assert.StartsWith("404", await Indistinguishable(v => Send(world.Hospital, HttpMethod.Patch, $"/fhir/Observation?{Criteria(v)}", JsonPatch("amended")), hiddenValue));
        Assert.Equal(1, (await Current("Observation", hidden)).Version);
    }

    // ------------------------------------------------------------------ conditional delete

    [Fact]
    public async Task Conditional_delete_deletes_only_what_it_may_change_and_all_or_nothing()
    {
        var own = Unique("own");
        var ownId = await world.Hospital.CreateId(world.Obs(world.Cared, own));
        Assert.Equal(HttpStatusCode.NoContent, (await Send(world.Hospital, HttpMethod.Delete, $"/fhir/Observation?{Criteria(own)}")).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await world.Admin.GetAsync($"/fhir/Observation/{ownId}")).StatusCode);
        var theirs = Unique("theirs");
        var theirsId = await world.Admin.CreateId(world.Obs(world.Cared, theirs));
        var refused = await Send(world.Hospital, HttpMethod.Delete, $"/fhir/Observation?{Criteria(theirs)}");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("may change only what it wrote", (await refused.Issues())[0].Diagnostics);
        Assert.Equal(1, (await Current("Observation", theirsId)).Version);
        var twice = Unique("twice");
        await world.Hospital.CreateId(world.Obs(world.Cared, twice));
        await world.Hospital.CreateId(world.Obs(world.Cared, twice));
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await Send(world.Hospital, HttpMethod.Delete, $"/fhir/Observation?{Criteria(twice)}")).StatusCode);
        // A hidden one is not matched: nothing to delete, as when nothing exists; it stays.
        var hiddenValue = Unique("hidden");
        var hidden = await world.Admin.CreateId(world.Obs(world.Hidden, hiddenValue));
        Assert.Equal("204", await Indistinguishable(v => Send(world.Hospital, HttpMethod.Delete, $"/fhir/Observation?{Criteria(v)}"), hiddenValue));
        Assert.Equal(1, (await Current("Observation", hidden)).Version);
        // Its own beside a hidden one: its own is the one match.
        var mixed = Unique("mixed");
        var mine = await world.Hospital.CreateId(world.Obs(world.Cared, mixed));
        var hiddenToo = await world.Admin.CreateId(world.Obs(world.Hidden, mixed));
        Assert.Equal(HttpStatusCode.NoContent, (await Send(world.Hospital, HttpMethod.Delete, $"/fhir/Observation?{Criteria(mixed)}")).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await world.Admin.GetAsync($"/fhir/Observation/{mine}")).StatusCode);
        Assert.Equal(1, (await Current("Observation", hiddenToo)).Version);
    }

    // ------------------------------------------------------------------ transactions and batches

    [Fact]
    public async Task Transaction_entries_take_the_same_route_for_every_conditional_kind()
    {
        var (create, update, patch, delete) = (Unique("c"), Unique("u"), Unique("p"), Unique("d"));
        var createId = await world.Hospital.CreateId(world.Obs(world.Cared, create));
        var updateId = await world.Hospital.CreateId(world.Obs(world.Cared, update));
        var patchId = await world.Hospital.CreateId(world.Obs(world.Cared, patch));
        var deleteId = await world.Hospital.CreateId(world.Obs(world.Cared, delete));
        var response = await Transaction(world.Hospital,
            Entry("POST", "Observation", world.Obs(world.Cared, create), Criteria(create)),
            Entry("PUT", $"Observation?{Criteria(update)}", world.Obs(world.Cared, update)),
            PatchEntry($"Observation?{Criteria(patch)}", "amended"),
            Entry("DELETE", $"Observation?{Criteria(delete)}"));
        Assert.Equal("200 200 OK,200 OK,200 OK,204 No Content", await Shape(response, "-"));
        Assert.Equal(1, (await Current("Observation", createId)).Version);
        Assert.Equal(2, (await Current("Observation", updateId)).Version);
        Assert.Equal(2, (await Current("Observation", patchId)).Version);
        Assert.Equal(HttpStatusCode.Gone, (await world.Admin.GetAsync($"/fhir/Observation/{deleteId}")).StatusCode);

        // Visible but another's: the entry, and so the transaction, is refused.
        var theirs = Unique("theirs");
        await world.Admin.CreateId(world.Obs(world.Cared, theirs));
        foreach (var entry in new[] { Entry("PUT", $"Observation?{Criteria(theirs)}", world.Obs(world.Cared, theirs)), PatchEntry($"Observation?{Criteria(theirs)}", "amended"), Entry("DELETE", $"Observation?{Criteria(theirs)}") })
        {
            var refused = await Transaction(world.Hospital, entry);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("may change only what it wrote", (await refused.Issues())[0].Diagnostics);
        }
        // Several it may see: 412.
        var twice = Unique("twice");
        await world.Hospital.CreateId(world.Obs(world.Cared, twice));
        await world.Hospital.CreateId(world.Obs(world.Cared, twice));
        foreach (var entry in new[] { Entry("POST", "Observation", world.Obs(world.Cared, twice), Criteria(twice)), Entry("PUT", $"Observation?{Criteria(twice)}", world.Obs(world.Cared, twice)), PatchEntry($"Observation?{Criteria(twice)}", "amended"), Entry("DELETE", $"Observation?{Criteria(twice)}") })
            Assert.Equal(HttpStatusCode.PreconditionFailed, (await Transaction(world.Hospital, entry)).StatusCode);
    }

    [Fact]
    public async Task Transaction_and_batch_entries_never_match_what_it_may_not_see()
    {
        // One hidden Observation per call: a conditional update that creates (a hidden duplicate) makes one of its own.
        var hiddenOnes = new List<string>();
        async Task<string> Hidden()
        {
            var value = Unique("hidden");
            hiddenOnes.Add(await world.Admin.CreateId(world.Obs(world.Hidden, value)));
            return value;
        }
        Assert.StartsWith("403", await Indistinguishable(v => Transaction(world.Hospital, Entry("POST", "Observation", world.Obs(world.Hidden, v), Criteria(v))), await Hidden()));
        Assert.StartsWith("403", await Indistinguishable(v => Transaction(world.Hospital, Entry("PUT", $"Observation?{Criteria(v)}", world.Obs(world.Hidden, v))), await Hidden()));
        Assert.Equal("200 201 Created", await Indistinguishable(v => Transaction(world.Hospital, Entry("PUT", $"Observation?{Criteria(v)}", world.Obs(world.Cared, v))), await Hidden()));
        Assert.StartsWith("404", await Indistinguishable(v => Transaction(world.Hospital, PatchEntry($"Observation?{Criteria(v)}", "amended")), await Hidden()));
        Assert.Equal("200 204 No Content", await Indistinguishable(v => Transaction(world.Hospital, Entry("DELETE", $"Observation?{Criteria(v)}")), await Hidden()));
        var hiddenValue = await Hidden();
        var hidden = hiddenOnes[^1];
        var (resident, residentId) = await HiddenResident();
        Assert.Equal("200 201 Created", await Indistinguishable(v => Transaction(world.Hospital,
            Entry("POST", "Patient", world.Resident("Hidden", v), $"identifier={ResidentId}|{v}")), residentId));
        foreach (var id in hiddenOnes) Assert.Equal(1, (await Current("Observation", id)).Version);
        Assert.Equal(1, (await Current("Patient", resident)).Version);
        // A conditional reference is resolved under the policy too: a resident it may not see is not found, as one that does not exist.
        var reference = world.Obs(world.Cared, Unique("ref"));
        Assert.StartsWith("412", await Indistinguishable(v =>
        {
            reference.Subject = new ResourceReference($"Patient?identifier={ResidentId}|{v}");
            return Transaction(world.Hospital, Entry("POST", "Observation", reference));
        }, world.HiddenResidentId));
        // In a batch each entry answers for itself, the same way.
        var batch = new JsonObject { ["resourceType"] = "Bundle", ["type"] = "batch", ["entry"] = new JsonArray(
            Entry("DELETE", $"Observation?{Criteria(hiddenValue)}"), PatchEntry($"Observation?{Criteria(hiddenValue)}", "amended")) };
        var answer = await world.Hospital.PostAsync("/fhir", FhirTest.Body(batch.ToJsonString()));
        Assert.Equal("200 204 No Content,404 Not Found", await Shape(answer, "-"));
        Assert.Equal(1, (await Current("Observation", hidden)).Version);
    }

    // ------------------------------------------------------------------ $match, other callers, the access log

    [Fact]
    public async Task Match_returns_only_residents_it_may_see()
    {
        async Task<List<string>> Match(HttpClient client, string residentId)
        {
            var parameters = new Parameters();
            parameters.Add("resource", new Patient { Identifier = [new Identifier(ResidentId, residentId)] });
            var response = await client.PostAsync("/fhir/Patient/$match", FhirTest.Body(parameters));
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            return TestData.Matches(await response.ReadJson());
        }
        Assert.Equal([world.Cared], await Match(world.Hospital, world.CaredResidentId));
        Assert.Empty(await Match(world.Hospital, world.HiddenResidentId));
        // By name and birth date too: the hidden resident is never a candidate.
        var parameters = new Parameters();
        parameters.Add("resource", world.Resident("Hidden", "nothing"));
        var byName = await world.Hospital.PostAsync("/fhir/Patient/$match", FhirTest.Body(parameters));
        Assert.DoesNotContain(world.Hidden, await byName.Content.ReadAsStringAsync());
        // The group's own systems find both.
        Assert.Contains(world.Hidden, await Match(world.Group, world.HiddenResidentId));
    }

    [Fact]
    public async Task Group_callers_admins_and_break_glass_match_as_before()
    {
        var hiddenValue = Unique("hidden");
        var hidden = await world.Admin.CreateId(world.Obs(world.Hidden, hiddenValue));
        foreach (var client in new[] { world.Admin, world.Group })
            Assert.Equal(hidden, await IdOf(await Send(client, HttpMethod.Post, "/fhir/Observation", FhirTest.Body(world.Obs(world.Hidden, hiddenValue)), Criteria(hiddenValue)), HttpStatusCode.OK));
        // The group's own systems patch it by criteria as before (a REST conditional PATCH).
        Assert.Equal(hidden, await IdOf(await Send(world.Group, HttpMethod.Patch, $"/fhir/Observation?{Criteria(hiddenValue)}", JsonPatch("amended")), HttpStatusCode.OK));
        Assert.Equal(2, (await Current("Observation", hidden)).Version);
        var request = new HttpRequestMessage(HttpMethod.Post, "/fhir/Observation") { Content = FhirTest.Body(world.Obs(world.Hidden, hiddenValue)) };
        request.Headers.TryAddWithoutValidation("If-None-Exist", Criteria(hiddenValue));
        request.Headers.TryAddWithoutValidation("X-Break-Glass", "unconscious in the emergency room");
        Assert.Equal(hidden, await IdOf(await world.Emergency.SendAsync(request), HttpStatusCode.OK));
    }

    [Fact]
    public async Task Conditional_writes_and_match_are_in_the_access_log()
    {
        var value = Unique("logged");
        await Send(world.Hospital, HttpMethod.Put, $"/fhir/Observation?{Criteria(value)}", FhirTest.Body(world.Obs(world.Cared, value)));
        await Send(world.Hospital, HttpMethod.Patch, $"/fhir/Observation?{Criteria(value)}", JsonPatch("amended"));
        await Send(world.Hospital, HttpMethod.Post, "/fhir/Observation", FhirTest.Body(world.Obs(world.Cared, value)), Criteria(value));
        var theirs = Unique("theirs");
        await world.Admin.CreateId(world.Obs(world.Cared, theirs));
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(world.Hospital, HttpMethod.Delete, $"/fhir/Observation?{Criteria(theirs)}")).StatusCode);
        await Send(world.Hospital, HttpMethod.Delete, $"/fhir/Observation?{Criteria(value)}");
        var parameters = new Parameters();
        parameters.Add("resource", new Patient { Identifier = [new Identifier(ResidentId, world.CaredResidentId)] });
        await world.Hospital.PostAsync("/fhir/Patient/$match", FhirTest.Body(parameters));

        var auditor = await world.Server.ClientWith("aud-c-" + world.Tag[..6], "system/AuditEvent.rs");
        async Task<int> Count(string query)
        {
            var response = await auditor.GetAsync($"/fhir/AuditEvent?agent-org=Organization/{world.Hosp}&{query}&_count=100");
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            return (await response.ReadJson())["entry"]?.AsArray().Count ?? 0;
        }
        foreach (var subtype in new[] { "update", "patch", "create", "delete" })
            Assert.True(await Count($"patient={world.Cared}&subtype={subtype}&outcome=0") > 0, subtype);
        Assert.True(await Count("subtype=delete&outcome=4") > 0, "the refused conditional delete");
        Assert.True(await Count($"patient={world.Cared}&subtype=operation") > 0, "$match, naming the resident it returned");
    }
}
