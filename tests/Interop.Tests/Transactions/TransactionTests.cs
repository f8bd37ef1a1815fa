using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Transactions;

public sealed class TransactionTests(TransactionTests.SmallBundleFixture server) : IClassFixture<TransactionTests.SmallBundleFixture>
{
    public sealed class SmallBundleFixture : FhirServerFixture
    {
        protected override IDictionary<string, string> Settings => new Dictionary<string, string> { ["Fhir:MaxBundleEntries"] = "20" };
    }

    private static Bundle.EntryComponent Post(string fullUrl, Resource resource, string? ifNoneExist = null) => new()
    {
        FullUrl = fullUrl, Resource = resource,
        Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = resource.TypeName, IfNoneExist = ifNoneExist },
    };

    private static Resource Tagged(Resource r, string tag)
    {
        r.Meta = new Meta { Tag = [new Coding("urn:test", tag)] };
        return r;
    }

    private async Task<HttpResponseMessage> Send(Bundle bundle, HttpClient? client = null) =>
        await (client ?? server.CreateClient()).PostAsync("/fhir", FhirTest.Body(bundle));

    [Fact]
    public async Task Transaction_assigns_ids_and_rewrites_urn_uuid_references_everywhere()
    {
        var data = new TestData(server.CreateClient());
        var patientUrl = $"urn:uuid:{Guid.NewGuid()}";
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                Post($"urn:uuid:{Guid.NewGuid()}", Tagged(new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "4548-4"), Subject = new ResourceReference(patientUrl) }, data.Tag)),
                Post(patientUrl, Tagged(new Patient { Name = [new HumanName { Family = "Tan" }] }, data.Tag)),
                Post($"urn:uuid:{Guid.NewGuid()}", Tagged(new EpisodeOfCare { Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = new ResourceReference(patientUrl) }, data.Tag)),
            ],
        };
        var response = await Send(bundle);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.ReadResource<Bundle>();
        Assert.Equal(Bundle.BundleType.TransactionResponse, result.Type);
        Assert.All(result.Entry, e => Assert.Equal("201 Created", e.Response.Status));
        var patientLocation = result.Entry[1].Response.Location;
        var patientId = patientLocation.Split('/')[^3];

        var observation = await (await data.Client.GetAsync(result.Entry[0].Response.Location)).ReadJson();
        Assert.Equal($"Patient/{patientId}", observation["subject"]!["reference"]!.GetValue<string>());
        Assert.Equal(2, (await data.Ids($"/fhir/Patient/{patientId}/Observation")).Count + (await data.Ids($"/fhir/Patient/{patientId}/EpisodeOfCare")).Count);
    }

    [Fact]
    public async Task A_transaction_that_creates_updates_and_deletes_leaves_exactly_the_new_index_rows_and_touches_no_other_resource()
    {
        // A transaction's index rows are written as one statement for all its resources (IndexQueue): each created resource
        // is found by its own values, an updated one by its new values only, a deleted one not at all, and a resource
        // outside the bundle keeps its rows.
        var data = new TestData(server.CreateClient());
        string Family(string what) => what + data.Tag[..8];
        var updated = await data.Create(new Patient { Name = [new HumanName { Family = Family("Before") }], BirthDate = "1950-01-01" });
        var deleted = await data.Create(new Patient { Name = [new HumanName { Family = Family("Gone") }] });
        var untouched = await data.Create(new Patient { Name = [new HumanName { Family = Family("Still") }], BirthDate = "1950-01-01" });
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                Post($"urn:uuid:{Guid.NewGuid()}", Tagged(new Patient { Name = [new HumanName { Family = Family("NewOne") }], BirthDate = "1960-02-02" }, data.Tag)),
                Post($"urn:uuid:{Guid.NewGuid()}", Tagged(new Patient { Name = [new HumanName { Family = Family("NewTwo") }], BirthDate = "1970-03-03" }, data.Tag)),
                new Bundle.EntryComponent
                {
                    Resource = Tagged(new Patient { Id = updated, Name = [new HumanName { Family = Family("After") }], BirthDate = "1980-04-04" }, data.Tag),
                    Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = $"Patient/{updated}" },
                },
                new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.DELETE, Url = $"Patient/{deleted}" } },
            ],
        };
        var response = await Send(bundle);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.ReadResource<Bundle>();
        var created = result.Entry.Take(2).Select(e => e.Response.Location.Split('/')[^3]).ToList();

        Assert.Equal([created[0]], await data.Ids($"/fhir/Patient?family={Family("NewOne")}"));
        Assert.Equal([created[1]], await data.Ids($"/fhir/Patient?birthdate=1970-03-03"));
        Assert.Equal([updated], await data.Ids($"/fhir/Patient?family={Family("After")}"));
        Assert.Equal([updated], await data.Ids("/fhir/Patient?birthdate=1980-04-04"));
        Assert.Empty(await data.Ids($"/fhir/Patient?family={Family("Before")}"));
        Assert.Empty(await data.Ids($"/fhir/Patient?family={Family("Gone")}"));
        Assert.Equal([untouched], await data.Ids("/fhir/Patient?birthdate=1950-01-01"));
        Assert.Equal([untouched], await data.Ids($"/fhir/Patient?family={Family("Still")}"));
    }

    [Fact]
    public async Task A_failing_entry_fails_the_transaction_naming_it_and_stores_nothing()
    {
        var data = new TestData(server.CreateClient());
        var existing = await data.Create(new Patient { Active = true });
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                Post("urn:uuid:aaaaaaaa-0000-0000-0000-000000000001", Tagged(new Patient { Active = false }, data.Tag)),
                new Bundle.EntryComponent
                {
                    FullUrl = $"http://localhost/fhir/Patient/{existing}",
                    Resource = Tagged(new Patient { Id = existing, Active = false }, data.Tag),
                    Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = $"Patient/{existing}", IfMatch = "W/\"9\"" },
                },
            ],
        };
        var response = await Send(bundle);
        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        var issue = (await response.Issues())[0];
        Assert.Contains("entry 1", issue.Diagnostics);
        Assert.Contains($"Patient/{existing}", issue.Diagnostics);
        Assert.Equal("Bundle.entry[1]", issue.Expression);
        Assert.Equal([existing], await data.Ids("/fhir/Patient"));
        Assert.Equal("W/\"1\"", (await data.Client.GetAsync($"/fhir/Patient/{existing}")).Headers.ETag?.ToString());
    }

    [Fact]
    public async Task Patch_entries_apply_in_the_transaction_and_a_failing_patch_stores_nothing()
    {
        var data = new TestData(server.CreateClient());
        var patient = await data.Create(new Patient { Active = true, Gender = AdministrativeGender.Female });
        var plan = await data.Create(new CarePlan { Status = RequestStatus.Active, Intent = CarePlan.CarePlanIntent.Plan, Subject = new ResourceReference($"Patient/{patient}") });
        Bundle.EntryComponent Patch(string url, Resource body, string? ifMatch = null) =>
            new() { Resource = body, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PATCH, Url = url, IfMatch = ifMatch } };
        var fhirPath = new Parameters();
        fhirPath.Parameter.Add(new Parameters.ParameterComponent
        {
            Name = "operation",
            Part =
            [
                new() { Name = "type", Value = new Code("replace") },
                new() { Name = "path", Value = new FhirString("CarePlan.status") },
                new() { Name = "value", Value = new Code("on-hold") },
            ],
        });
        var jsonPatch = new Binary { ContentType = "application/json-patch+json", Data = "[{\"op\":\"replace\",\"path\":\"/active\",\"value\":false}]"u8.ToArray() };

        var ok = await Send(new Bundle { Type = Bundle.BundleType.Transaction, Entry = [Patch($"Patient/{patient}", jsonPatch, "W/\"1\""), Patch($"CarePlan/{plan}", fhirPath)] });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var statuses = (await ok.ReadJson())["entry"]!.AsArray().Select(e => e!["response"]!["status"]!.GetValue<string>()).ToList();
        Assert.All(statuses, s => Assert.StartsWith("200", s));
        Assert.False((await (await data.Client.GetAsync($"/fhir/Patient/{patient}")).ReadResource<Patient>()).Active);
        Assert.Equal(RequestStatus.OnHold, (await (await data.Client.GetAsync($"/fhir/CarePlan/{plan}")).ReadResource<CarePlan>()).Status);

        // A JSON Patch whose test fails: nothing of the transaction is stored, the entry is named.
        var failing = new Binary { ContentType = "application/json-patch+json", Data = "[{\"op\":\"test\",\"path\":\"/gender\",\"value\":\"male\"}]"u8.ToArray() };
        var refused = await Send(new Bundle { Type = Bundle.BundleType.Transaction, Entry = [Patch($"CarePlan/{plan}", fhirPath), Patch($"Patient/{patient}", failing)] });
        Assert.Equal(HttpStatusCode.PreconditionFailed, refused.StatusCode);
        Assert.Contains("entry 1", (await refused.Issues())[0].Diagnostics);
        Assert.Equal("W/\"2\"", (await data.Client.GetAsync($"/fhir/CarePlan/{plan}")).Headers.ETag?.ToString());

        // Conditional patch: exactly one match is patched, none is 404.
        var activate = new Binary { ContentType = "application/json-patch+json", Data = "[{\"op\":\"replace\",\"path\":\"/active\",\"value\":true}]"u8.ToArray() };
        Assert.Equal(HttpStatusCode.OK, (await Send(new Bundle { Type = Bundle.BundleType.Transaction, Entry = [Patch($"Patient?_id={patient}", activate)] })).StatusCode);
        Assert.True((await (await data.Client.GetAsync($"/fhir/Patient/{patient}")).ReadResource<Patient>()).Active);
        Assert.Equal(HttpStatusCode.NotFound, (await Send(new Bundle { Type = Bundle.BundleType.Transaction, Entry = [Patch("Patient?identifier=urn:none|0", activate)] })).StatusCode);

        // A patch body that is neither Parameters nor a JSON Patch Binary is a 400.
        var wrong = await Send(new Bundle { Type = Bundle.BundleType.Transaction, Entry = [Patch($"Patient/{patient}", new Basic())] });
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
    }

    [Fact]
    public async Task Invalid_resource_in_an_entry_is_400_with_its_path()
    {
        var json = """{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","birthDate":"1950-13-01"},"request":{"method":"POST","url":"Patient"}}]}""";
        var response = await server.CreateClient().PostAsync("/fhir", FhirTest.Body(json));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(await response.Issues(), i => i.Expression?.Contains("birthDate") == true);
    }

    [Fact]
    public async Task Conditional_references_and_if_none_exist_inside_a_bundle()
    {
        var data = new TestData(server.CreateClient());
        var system = $"urn:resident:{data.Tag}";
        var patient = await data.Create(new Patient { Identifier = [new Identifier(system, "R-1")] });
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                Post("urn:uuid:bbbbbbbb-0000-0000-0000-000000000001", Tagged(new Patient { Identifier = [new Identifier(system, "R-1")] }, data.Tag), $"identifier={system}|R-1"),
                Post("urn:uuid:bbbbbbbb-0000-0000-0000-000000000002", Tagged(new CarePlan { Status = RequestStatus.Active, Intent = CarePlan.CarePlanIntent.Plan, Subject = new ResourceReference($"Patient?identifier={system}|R-1") }, data.Tag)),
            ],
        };
        var result = await (await Send(bundle)).ReadResource<Bundle>();
        Assert.Equal("200 OK", result.Entry[0].Response.Status);
        Assert.Equal([patient], await data.Ids("/fhir/Patient"));
        var plan = await (await data.Client.GetAsync(result.Entry[1].Response.Location)).ReadJson();
        Assert.Equal($"Patient/{patient}", plan["subject"]!["reference"]!.GetValue<string>());

        var unmatched = new Bundle { Type = Bundle.BundleType.Transaction, Entry = [Post("urn:uuid:bbbbbbbb-0000-0000-0000-000000000003", new CarePlan { Status = RequestStatus.Active, Intent = CarePlan.CarePlanIntent.Plan, Subject = new ResourceReference($"Patient?identifier={system}|nobody") })] };
        var failed = await Send(unmatched);
        Assert.Equal(HttpStatusCode.PreconditionFailed, failed.StatusCode);
        Assert.Contains("matches no resource", (await failed.Issues())[0].Diagnostics);
    }

    [Fact]
    public async Task Deletes_run_before_creates_and_gets_see_the_result()
    {
        var data = new TestData(server.CreateClient());
        var old = await data.Create(new Organization { Name = "Old station" });
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.GET, Url = $"Organization?_tag=urn:test|{data.Tag}" } },
                Post("urn:uuid:cccccccc-0000-0000-0000-000000000001", Tagged(new Organization { Name = "New station" }, data.Tag)),
                new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.DELETE, Url = $"Organization/{old}" } },
            ],
        };
        var result = await (await Send(bundle)).ReadResource<Bundle>();
        Assert.Equal("204 No Content", result.Entry[2].Response.Status);
        var searchset = (Bundle)result.Entry[0].Resource;
        Assert.Equal("New station", ((Organization)searchset.Entry.Single().Resource).Name);
    }

    [Fact]
    public async Task Batch_entries_succeed_or_fail_on_their_own()
    {
        var data = new TestData(server.CreateClient());
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Batch,
            Entry =
            [
                Post("urn:uuid:dddddddd-0000-0000-0000-000000000001", Tagged(new Patient { Active = true }, data.Tag)),
                new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.GET, Url = "Patient/does-not-exist" } },
                new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.DELETE, Url = "Patient?identifier=x&bogus=1" } },
            ],
        };
        var response = await Send(bundle);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.ReadResource<Bundle>();
        Assert.Equal(Bundle.BundleType.BatchResponse, result.Type);
        Assert.Equal("201 Created", result.Entry[0].Response.Status);
        Assert.Equal("404 Not Found", result.Entry[1].Response.Status);
        Assert.Equal("400 Bad Request", result.Entry[2].Response.Status);
        Assert.IsType<OperationOutcome>(result.Entry[2].Response.Outcome);
        Assert.Single(await data.Ids("/fhir/Patient"));
    }

    [Fact]
    public async Task Too_many_entries_is_413_and_wrong_bundle_type_is_400()
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Batch };
        for (var i = 0; i < 21; i++) bundle.Entry.Add(Post($"urn:uuid:{Guid.NewGuid()}", new Patient { Active = true }));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await Send(bundle)).StatusCode);
        var collection = await Send(new Bundle { Type = Bundle.BundleType.Collection });
        Assert.Equal(HttpStatusCode.BadRequest, collection.StatusCode);
        Assert.Equal("Bundle.type", (await collection.Issues())[0].Expression);
    }
}
