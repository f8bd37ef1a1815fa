using Interop.Fhir.Indexing;
using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Search;

/// <summary>Chains, _has, includes, sorting, paging, totals, subsets, POST, system and compartment search.</summary>
public sealed class ResultTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    private TestData Data() => new(server.CreateClient());

    private static ServiceRequest Referral(string patient, string performer, RequestPriority priority, RequestStatus status = RequestStatus.Active) => new()
    {
        Status = status, Intent = RequestIntent.Order, Priority = priority,
        Subject = new ResourceReference($"Patient/{patient}"), Performer = [new ResourceReference($"Organization/{performer}")],
        Category = [new CodeableConcept("urn:interop:referral", "up-referral")],
    };

    [Fact]
    public async Task Chaining_one_and_two_hops()
    {
        var data = Data();
        var hospital = await data.Create(new Organization { Name = "Luohu People's Hospital" });
        var gp = await data.Create(new Practitioner { Name = [new HumanName { Family = "Huang" }] });
        var patient = await data.Create(new Patient { Name = [new HumanName { Family = "Sun" }], ManagingOrganization = new ResourceReference($"Organization/{hospital}"), GeneralPractitioner = [new ResourceReference($"Practitioner/{gp}")] });
        var other = await data.Create(new Patient { Name = [new HumanName { Family = "Ma" }] });
        var plan = await data.Create(new CarePlan { Status = RequestStatus.Active, Intent = CarePlan.CarePlanIntent.Plan, Subject = new ResourceReference($"Patient/{patient}") });
        await data.Create(new CarePlan { Status = RequestStatus.Active, Intent = CarePlan.CarePlanIntent.Plan, Subject = new ResourceReference($"Patient/{other}") });

        Assert.Equal([plan], await data.Ids("/fhir/CarePlan?subject:Patient.name=sun"));
        Assert.Equal([plan], await data.Ids("/fhir/CarePlan?patient.family=sun"));
        Assert.Equal([plan], await data.Ids("/fhir/CarePlan?subject:Patient.organization.name=luohu"));
        Assert.Equal([plan], await data.Ids("/fhir/CarePlan?subject:Patient.general-practitioner:Practitioner.family=huang"));
    }

    [Fact]
    public async Task Has_and_nested_has()
    {
        var data = Data();
        var diabetic = await data.Create(new Patient { Active = true });
        var healthy = await data.Create(new Patient { Active = true });
        var condition = await data.Create(new Condition { Subject = new ResourceReference($"Patient/{diabetic}"), Code = new CodeableConcept("http://snomed.info/sct", "44054006") });
        await data.Create(new Provenance { Target = [new ResourceReference($"Condition/{condition}")], Recorded = DateTimeOffset.UtcNow, Agent = [new Provenance.AgentComponent { Who = new ResourceReference("Practitioner/gp1") }] });

        Assert.Equal([diabetic], await data.Ids("/fhir/Patient?_has:Condition:subject:code=44054006"));
        Assert.Empty(await data.Ids("/fhir/Patient?_has:Condition:subject:code=38341003"));
        Assert.Equal([diabetic], await data.Ids("/fhir/Patient?_has:Condition:subject:_has:Provenance:target:agent=Practitioner/gp1"));
        Assert.Contains(healthy, await data.Ids("/fhir/Patient?active=true"));
    }

    [Fact]
    public async Task Include_revinclude_iterate_and_star()
    {
        var data = Data();
        var station = await data.Create(new Organization { Name = "Station 7" });
        var patient = await data.Create(new Patient { ManagingOrganization = new ResourceReference($"Organization/{station}") });
        var referral = await data.Create(Referral(patient, station, RequestPriority.Urgent));

        var included = await data.Search("/fhir/ServiceRequest?_include=ServiceRequest:subject");
        Assert.Equal([referral], TestData.Matches(included));
        Assert.Equal([patient], TestData.Matches(included, "include"));

        var iterated = await data.Search("/fhir/ServiceRequest?_include=ServiceRequest:subject&_include:iterate=Patient:organization");
        Assert.Equal(new[] { patient, station }.Order(), TestData.Matches(iterated, "include").Order());

        var star = await data.Search("/fhir/ServiceRequest?_include=*");
        Assert.Equal(new[] { patient, station }.Order(), TestData.Matches(star, "include").Order());

        var rev = await data.Search($"/fhir/Patient?_id={patient}&_revinclude=ServiceRequest:subject");
        Assert.Equal([referral], TestData.Matches(rev, "include"));
    }

    [Fact]
    public async Task Worklist_sort_by_several_keys()
    {
        var data = Data();
        var hospital = await data.Create(new Organization { Name = "Hospital" });
        var routine = await data.Create(Referral("p1", hospital, RequestPriority.Routine));
        var stat = await data.Create(Referral("p2", hospital, RequestPriority.Stat));
        var urgent = await data.Create(Referral("p3", hospital, RequestPriority.Urgent));
        await data.Create(Referral("p4", hospital, RequestPriority.Stat, RequestStatus.Completed));

        var worklist = await data.Ids($"/fhir/ServiceRequest?performer=Organization/{hospital}&status=active&_sort=-priority,-_lastUpdated");
        Assert.Equal([stat, urgent, routine], worklist); // request-priority's order, not the alphabet: stat > asap > urgent > routine
        var newestFirst = await data.Ids($"/fhir/ServiceRequest?performer=Organization/{hospital}&status=active&_sort=-_lastUpdated");
        Assert.Equal([urgent, stat, routine], newestFirst);
    }

    [Fact]
    public async Task Paging_neither_skips_nor_repeats_while_data_changes_and_goes_back()
    {
        var data = Data();
        var ids = new List<string>();
        for (var i = 0; i < 7; i++) ids.Add(await data.Create(new Patient { Name = [new HumanName { Family = $"Page{i}" }] }));

        var seen = new List<string>();
        var url = data.Scoped("/fhir/Patient?_count=3&_sort=family");
        JsonObject? second = null;
        string? inserted = null;
        for (var page = 0; url is not null; page++)
        {
            var bundle = await (await data.Client.GetAsync(url)).ReadJson();
            seen.AddRange(TestData.Matches(bundle));
            if (page == 0)
            {
                // Between pages: a new resource sorting before the cursor and an update of one already seen.
                inserted = await data.Create(new Patient { Name = [new HumanName { Family = "Page0a" }] });
                await data.Put(new Patient { Id = ids[0], Name = [new HumanName { Family = "Page0" }], Active = true });
            }
            if (page == 1) second = bundle;
            url = Link(bundle, "next");
            Assert.True(page < 5);
        }
        Assert.Equal(ids, seen);

        // Going back from page 2 shows the three rows before it as they are now, the new one included.
        var back = await (await data.Client.GetAsync(Link(second!, "previous"))).ReadJson();
        Assert.Equal([inserted!, ids[1], ids[2]], TestData.Matches(back));
    }

    [Fact]
    public async Task Paging_in_key_order_across_several_criteria_and_back()
    {
        var data = Data();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++) ids.Add(await data.Create(new Patient { Name = [new HumanName { Family = "Keyorder" }], Gender = AdministrativeGender.Female }));
        await data.Create(new Patient { Name = [new HumanName { Family = "Keyorder" }], Gender = AdministrativeGender.Male });
        ids.Sort(KeyOrder("Patient"));

        var first = await data.Search("/fhir/Patient?family=keyorder&gender=female&_count=2");
        var second = await (await data.Client.GetAsync(Link(first, "next"))).ReadJson();
        var third = await (await data.Client.GetAsync(Link(second, "next"))).ReadJson();
        Assert.Equal(ids[..2], TestData.Matches(first));
        Assert.Equal(ids[2..4], TestData.Matches(second));
        Assert.Equal(ids[4..], TestData.Matches(third));
        Assert.Null(Link(third, "next"));
        var back = await (await data.Client.GetAsync(Link(third, "previous"))).ReadJson();
        Assert.Equal(ids[2..4], TestData.Matches(back));

        // A cursor taken from a sorted search does not fit the unsorted one: 400, not a wrong page.
        var sorted = await data.Search("/fhir/Patient?family=keyorder&gender=female&_count=2&_sort=-_lastUpdated");
        var foreign = System.Text.RegularExpressions.Regex.Replace(Link(sorted, "next")!, "_sort=[^&]*&?", "");
        Assert.Equal(HttpStatusCode.BadRequest, (await data.Client.GetAsync(foreign)).StatusCode);
    }

    [Fact]
    public async Task Has_skips_references_to_deleted_resources_and_pages_fully()
    {
        var data = Data();
        var patients = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var patient = await data.Create(new Patient { Active = true });
            patients.Add(patient);
            await data.Create(new Condition { Subject = new ResourceReference($"Patient/{patient}"), Code = new CodeableConcept("http://snomed.info/sct", "73211009") });
        }
        patients.Sort(KeyOrder("Patient"));
        // The first patient in key order is deleted; its condition still points at it.
        Assert.Equal(HttpStatusCode.NoContent, (await data.Client.DeleteAsync($"/fhir/Patient/{patients[0]}")).StatusCode);

        var seen = new List<string>();
        var url = data.Scoped("/fhir/Patient?_has:Condition:subject:code=73211009&_count=1");
        for (var page = 0; url is not null && page < 5; page++)
        {
            var bundle = await (await data.Client.GetAsync(url)).ReadJson();
            seen.AddRange(TestData.Matches(bundle));
            url = Link(bundle, "next");
        }
        Assert.Equal(patients[1..], seen);
    }

    /// <summary>The default order of a search: by the resources' compact keys.</summary>
    private static Comparison<string> KeyOrder(string type) =>
        (a, b) => Interop.Fhir.Storage.CompactKeys.Rid($"{type}/{a}").CompareTo(Interop.Fhir.Storage.CompactKeys.Rid($"{type}/{b}"));

    private static string? Link(JsonObject bundle, string relation) =>
        bundle["link"]!.AsArray().FirstOrDefault(l => l!["relation"]!.GetValue<string>() == relation)?["url"]!.GetValue<string>();

    [Fact]
    public async Task Total_modes_and_summary_count()
    {
        var data = Data();
        for (var i = 0; i < 3; i++) await data.Create(new Patient { Active = true });
        Assert.Equal(3, (await data.Search("/fhir/Patient?_count=2&_total=accurate"))["total"]!.GetValue<int>());
        Assert.Null((await data.Search("/fhir/Patient?_count=2&_total=none"))["total"]);
        Assert.Null((await data.Search("/fhir/Patient?_count=2"))["total"]);
        Assert.Equal(3, (await data.Search("/fhir/Patient?_count=5"))["total"]!.GetValue<int>());
        // The estimate is the planner's row count: after ANALYZE it is close to the true count of all patients here.
        await using (var db = new Npgsql.NpgsqlConnection(server.ConnectionString))
        {
            await db.OpenAsync();
            await using var analyze = new Npgsql.NpgsqlCommand("analyze fhir.mt_doc_resourcedoc", db);
            await analyze.ExecuteNonQueryAsync();
        }
        var client = data.Client;
        var accurate = (await (await client.GetAsync("/fhir/Patient?_total=accurate&_count=0")).ReadJson())["total"]!.GetValue<int>();
        var estimate = (await (await client.GetAsync("/fhir/Patient?_total=estimate&_count=0")).ReadJson())["total"]!.GetValue<int>();
        Assert.InRange(estimate, accurate / 2, accurate * 2 + 3);
        var count = await data.Search("/fhir/Patient?_summary=count");
        Assert.Equal(3, count["total"]!.GetValue<int>());
        Assert.Null(count["entry"]);
    }

    [Fact]
    public async Task Summary_and_elements_apply_to_each_match()
    {
        var data = Data();
        await data.Create(new Patient { Active = true, BirthDate = "1950", Name = [new HumanName { Family = "Xu" }], Contact = [new Patient.ContactComponent { Name = new HumanName { Family = "Xu Jr" } }] });
        var elements = await data.Search("/fhir/Patient?_elements=birthDate");
        var resource = elements["entry"]![0]!["resource"]!;
        Assert.NotNull(resource["birthDate"]);
        Assert.Null(resource["name"]);
        var summary = await data.Search("/fhir/Patient?_summary=true");
        Assert.Null(summary["entry"]![0]!["resource"]!["contact"]);
        Assert.NotNull(summary["entry"]![0]!["resource"]!["name"]);
    }

    [Fact]
    public async Task Post_search_system_search_and_compartment()
    {
        var data = Data();
        var patient = await data.Create(new Patient { Name = [new HumanName { Family = "Deng" }] });
        var obs = await data.Create(new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "4548-4"), Subject = new ResourceReference($"Patient/{patient}") });
        var plan = await data.Create(new CarePlan { Status = RequestStatus.Active, Intent = CarePlan.CarePlanIntent.Plan, Subject = new ResourceReference($"Patient/{patient}") });
        await data.Create(new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "4548-4"), Subject = new ResourceReference("Patient/someone-else") });

        var form = new FormUrlEncodedContent([new("family", "deng"), new("_tag", $"urn:test|{data.Tag}")]);
        var posted = await (await data.Client.PostAsync("/fhir/Patient/_search", form)).ReadJson();
        Assert.Equal([patient], TestData.Matches(posted));

        var system = await data.Search("/fhir?_type=Observation,CarePlan&_lastUpdated=gt2020");
        Assert.Equal(3, TestData.Matches(system).Count);

        var compartment = await data.Ids($"/fhir/Patient/{patient}/Observation");
        Assert.Equal([obs], compartment);
        Assert.Equal([plan], await data.Ids($"/fhir/Patient/{patient}/CarePlan"));
        Assert.Equal([obs], await data.Ids($"/fhir/Patient/{patient}/Observation?code=4548-4"));

        // Membership follows CompartmentDefinition/patient: an Observation the patient performed (self-measured)
        // is in it; a Practitioner is not in any patient's compartment.
        var selfMeasured = await data.Create(new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "8867-4"), Performer = [new ResourceReference($"Patient/{patient}")] });
        Assert.Equal(new[] { obs, selfMeasured }.Order(StringComparer.Ordinal), (await data.Ids($"/fhir/Patient/{patient}/Observation")).Order(StringComparer.Ordinal));
        Assert.Equal(HttpStatusCode.NotFound, (await data.Client.GetAsync($"/fhir/Patient/{patient}/Practitioner")).StatusCode);
    }

    [Fact]
    public void Every_patient_compartment_parameter_is_a_known_reference_parameter()
    {
        foreach (var type in Interop.Fhir.Patients.PatientCompartment.Types)
        foreach (var name in Interop.Fhir.Patients.PatientCompartment.Params(type))
            Assert.True(Interop.Fhir.Indexing.SearchParamRegistry.Find(type, name) is { Type: SearchParamType.Reference }, $"{type}.{name}");
    }

    [Fact]
    public async Task Deleted_and_updated_resources_are_searched_by_their_current_version()
    {
        var data = Data();
        var id = await data.Create(new Patient { Name = [new HumanName { Family = "Before" }] });
        Assert.Equal([id], await data.Ids("/fhir/Patient?family=before"));
        await data.Put(new Patient { Id = id, Name = [new HumanName { Family = "After" }] });
        Assert.Empty(await data.Ids("/fhir/Patient?family=before"));
        Assert.Equal([id], await data.Ids("/fhir/Patient?family=after"));
        await data.Client.DeleteAsync($"/fhir/Patient/{id}");
        Assert.Empty(await data.Ids("/fhir/Patient?family=after"));
    }

    [Fact]
    public async Task Capability_statement_lists_search_parameters_and_includes()
    {
        var statement = await (await server.CreateClient().GetAsync("/fhir/metadata")).ReadResource<CapabilityStatement>();
        var serviceRequest = statement.Rest[0].Resource.Single(r => r.Type == "ServiceRequest");
        Assert.Contains(serviceRequest.SearchParam, p => p.Name == "performer" && p.Type == SearchParamType.Reference);
        Assert.Contains(serviceRequest.SearchParam, p => p.Name == "_lastUpdated");
        Assert.Contains("ServiceRequest:subject", serviceRequest.SearchInclude);
        Assert.Contains(serviceRequest.Interaction, i => i.Code == CapabilityStatement.TypeRestfulInteraction.SearchType);
    }
}
