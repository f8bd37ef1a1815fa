using Microsoft.AspNetCore.Hosting;
using System.Net;
using System.Text.Json.Nodes;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Validation;

/// <summary>
/// Validation on every write (R4 core rules, reference types, meta.profile, enforced profiles), in transactions and
/// patches, the answers' issues, $validate in each mode, the terminology operations and a profile uploaded at run time.
/// </summary>
public sealed class ValidationTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    private static JsonObject Issue(JsonObject outcome, string says) =>
        outcome["issue"]!.AsArray().Select(i => i!.AsObject()).FirstOrDefault(i => i["diagnostics"]!.GetValue<string>().Contains(says, StringComparison.OrdinalIgnoreCase))
        ?? throw new Xunit.Sdk.XunitException($"no issue says '{says}': {outcome.ToJsonString()}");

    private static string Where(JsonObject issue) => issue["expression"]?[0]?.GetValue<string>() ?? "";

    public static TheoryData<string, string, HttpStatusCode, string, string> CoreCases => new()
    {
        // what, the resource, status (what the parser finds is 400, what the validator finds 422), the issue says, at
        { "missing required element", """{"resourceType":"Observation","code":{"text":"x"}}""", HttpStatusCode.BadRequest, "status", "Observation.status" },
        { "wrong datatype", """{"resourceType":"Patient","birthDate":12}""", HttpStatusCode.BadRequest, "not the right type", "Patient.birthDate" },
        { "unknown element", """{"resourceType":"Patient","nickname":"Bo"}""", HttpStatusCode.BadRequest, "nickname", "Patient" },
        { "invariant failure", """{"resourceType":"Patient","contact":[{"gender":"male"}]}""", HttpStatusCode.UnprocessableEntity, "pat-1", "Patient.contact" },
        { "code outside an R4 enumeration", """{"resourceType":"Patient","gender":"robot"}""", HttpStatusCode.BadRequest, "robot", "Patient.gender" },
        { "code outside a required value set", """{"resourceType":"AllergyIntolerance","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"sleeping"}]},"patient":{"reference":"Patient/x"}}""", HttpStatusCode.UnprocessableEntity, "sleeping", "AllergyIntolerance.clinicalStatus" },
        { "wrong reference target type", """{"resourceType":"Patient","managingOrganization":{"reference":"Practitioner/1"}}""", HttpStatusCode.UnprocessableEntity, "may refer only to Organization", "Patient.managingOrganization" },
        { "contained resource problem", """{"resourceType":"DiagnosticReport","status":"final","code":{"text":"r"},"result":[{"reference":"#o1"}],"contained":[{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"valueString":"a","dataAbsentReason":{"text":"gone"}}]}""", HttpStatusCode.UnprocessableEntity, "obs-6", "DiagnosticReport.contained[0]" },
        { "invariant on a datatype", """{"resourceType":"Patient","name":[{"period":{"start":"2020-01-01","end":"2019-01-01"}}]}""", HttpStatusCode.UnprocessableEntity, "per-1", "Patient.name" },
        { "unknown profile", """{"resourceType":"Patient","meta":{"profile":["https://nowhere.example/StructureDefinition/x"]}}""", HttpStatusCode.UnprocessableEntity, "not known", "Patient.meta.profile[0]" },
    };

    [Theory]
    [MemberData(nameof(CoreCases))]
    public async Task Core_rules_refuse_the_write_with_an_issue_naming_the_problem_and_where(string what, string json, HttpStatusCode status, string says, string at)
    {
        var type = JsonNode.Parse(json)!["resourceType"]!.GetValue<string>();
        var response = await server.CreateClient().PostAsync($"/fhir/{type}", FhirTest.Body(json));
        Assert.True(response.StatusCode == status, $"{what}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var issue = Issue(await response.ReadJson(), says);
        Assert.Equal("error", issue["severity"]!.GetValue<string>());
        Assert.StartsWith(at, Where(issue));
        // $validate reports the same problem with 200, stores nothing either
        var validated = await server.CreateClient().PostAsync($"/fhir/{type}/$validate", FhirTest.Body(json));
        Assert.Equal(HttpStatusCode.OK, validated.StatusCode);
        Issue(await validated.ReadJson(), says);
    }

    [Fact]
    public async Task A_transaction_with_one_invalid_entry_stores_nothing_and_names_the_entry()
    {
        var family = "Tx" + Guid.NewGuid().ToString("N")[..8];
        var bundle = $$$"""
            {"resourceType":"Bundle","type":"transaction","entry":[
              {"fullUrl":"urn:uuid:11111111-1111-1111-1111-111111111111","resource":{"resourceType":"Patient","name":[{"family":"{{{family}}}"}]},"request":{"method":"POST","url":"Patient"}},
              {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueString":"a","dataAbsentReason":{"text":"gone"},"subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"}},"request":{"method":"POST","url":"Observation"}}]}
            """;
        var client = server.CreateClient();
        var response = await client.PostAsync("/fhir", FhirTest.Body(bundle));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var issue = Issue(await response.ReadJson(), "obs-6");
        Assert.StartsWith("Bundle.entry[1].resource", Where(issue));
        Assert.Contains("entry 1", issue["diagnostics"]!.GetValue<string>());
        Assert.Equal(0, (await (await client.GetAsync($"/fhir/Patient?family={family}&_total=accurate")).ReadJson())["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_patch_whose_result_breaks_a_rule_is_refused_and_the_resource_stays()
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Hl7.Fhir.Model.Observation
        {
            Status = Hl7.Fhir.Model.ObservationStatus.Final, Code = new Hl7.Fhir.Model.CodeableConcept { Text = "x" }, Value = new Hl7.Fhir.Model.FhirString("a"),
        });
        // obs-6: a value and a reason for its absence together
        var patch = new HttpRequestMessage(HttpMethod.Patch, $"/fhir/Observation/{id}")
        {
            Content = FhirTest.Body("""[{"op":"add","path":"/dataAbsentReason","value":{"text":"gone"}}]""", "application/json-patch+json"),
        };
        var response = await client.SendAsync(patch);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.StartsWith("Observation", Where(Issue(await response.ReadJson(), "obs-6")));
        Assert.Equal("1", (await (await client.GetAsync($"/fhir/Observation/{id}")).ReadJson())["meta"]!["versionId"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_enforced_profile_applies_without_meta_profile()
    {
        // An EpisodeOfCare of the contract type is a FamilyDoctorContract whatever it claims: two years is refused.
        var contract = ProfileTests.Example("EpisodeOfCare-example-family-doctor-contract");
        contract.Remove("id");
        contract.Remove("meta");
        contract["period"]!["end"] = "2026-12-31";
        var response = await server.CreateClient().PostAsync("/fhir/EpisodeOfCare", FhirTest.Body(contract.ToJsonString()));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Issue(await response.ReadJson(), "fdc-1");
        // Another EpisodeOfCare (no contract type) is not held to it.
        var other = new Hl7.Fhir.Model.EpisodeOfCare { Status = Hl7.Fhir.Model.EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = new Hl7.Fhir.Model.ResourceReference("Patient/x") };
        await server.CreateClient().Create(other);
    }

    [Fact]
    public async Task Warnings_of_a_valid_write_come_back_with_Prefer_return_OperationOutcome()
    {
        // An extension the server has no definition of is stored, with a warning.
        var request = FhirTest.Request(HttpMethod.Post, "/fhir/Patient", """{"resourceType":"Patient","active":true,"extension":[{"url":"http://example.org/unknown-ext","valueString":"x"}]}""",
            ("Prefer", "return=OperationOutcome"));
        var response = await server.CreateClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var outcome = await response.ReadJson();
        Assert.Contains(outcome["issue"]!.AsArray(), i => i!["severity"]!.GetValue<string>() == "warning" && i["diagnostics"]!.GetValue<string>().Contains("unknown-ext")
                                                         && i["expression"]![0]!.GetValue<string>() == "Patient.extension[0]");
    }

    [Fact]
    public async Task The_import_validates_unless_told_not_to()
    {
        var dir = Directory.CreateTempSubdirectory("interop-import-");
        try
        {
            var marker = Guid.NewGuid().ToString("N");
            // pat-1 broken: a contact with neither details nor an organisation
            File.WriteAllText(Path.Combine(dir.FullName, "a.ndjson"), $$"""{"resourceType":"Patient","identifier":[{"system":"urn:t","value":"{{marker}}"}],"contact":[{"gender":"male"}]}""" + "\n");
            var importer = new Interop.Fhir.Import.BulkImporter(Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Interop.Fhir.Pipeline.FhirPipeline>(server.Services), "");
            var validated = await importer.Run([dir.FullName], new Interop.Fhir.Import.ImportOptions(Parallelism: 1), _ => { }, CancellationToken.None);
            Assert.Equal(0, validated.Resources);
            Assert.Contains("pat-1", Assert.Single(validated.Failures).Message);
            var trusted = await importer.Run([dir.FullName], new Interop.Fhir.Import.ImportOptions(Parallelism: 1, Validate: false), _ => { }, CancellationToken.None);
            Assert.Equal(1, trusted.Resources);
            Assert.Equal(1, (await (await server.CreateClient().GetAsync($"/fhir/Patient?identifier=urn:t|{marker}&_total=accurate")).ReadJson())["total"]!.GetValue<int>());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Validate_operation_in_each_mode()
    {
        var client = server.CreateClient();
        var patient = """{"resourceType":"Patient","active":true,"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">A</div>"}}""";
        // create (body directly)
        var create = await (await client.PostAsync("/fhir/Patient/$validate", FhirTest.Body(patient))).ReadJson();
        Assert.DoesNotContain(create["issue"]!.AsArray(), i => i!["severity"]!.GetValue<string>() == "error");
        // create with a profile parameter, in Parameters: the group Patient needs a resident id
        var parameters = $$"""{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{{patient}}},{"name":"mode","valueCode":"create"},{"name":"profile","valueUri":"https://interop.example/fhir/StructureDefinition/group-patient"}]}""";
        var profiled = await client.PostAsync("/fhir/Patient/$validate", FhirTest.Body(parameters));
        Assert.Equal(HttpStatusCode.OK, profiled.StatusCode);
        Issue(await profiled.ReadJson(), "residentId");
        // update: the body must carry the instance's id
        var id = await client.CreateId(new Hl7.Fhir.Model.Patient { Active = true });
        var wrongId = await client.PostAsync($"/fhir/Patient/{id}/$validate?mode=update", FhirTest.Body("""{"resourceType":"Patient","id":"other"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, wrongId.StatusCode);
        var update = await client.PostAsync($"/fhir/Patient/{id}/$validate?mode=update", FhirTest.Body($$"""{"resourceType":"Patient","id":"{{id}}","gender":"robot"}"""));
        Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        Issue(await update.ReadJson(), "robot");
        // the stored instance, read through the pipeline
        var stored = await client.GetAsync($"/fhir/Patient/{id}/$validate");
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        Assert.DoesNotContain((await stored.ReadJson())["issue"]!.AsArray(), i => i!["severity"]!.GetValue<string>() == "error");
        // delete
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/fhir/Patient/{id}/$validate?mode=delete", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync("/fhir/Patient/nobody-here/$validate?mode=delete", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync("/fhir/Patient/$validate?mode=sideways", FhirTest.Body(patient))).StatusCode);
        // an unknown profile parameter is the caller's mistake
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync("/fhir/Patient/$validate?profile=https://nowhere.example/x", FhirTest.Body(patient))).StatusCode);
        // nothing was stored by any of it
        Assert.Equal("1", (await (await client.GetAsync($"/fhir/Patient/{id}")).ReadJson())["meta"]!["versionId"]!.GetValue<string>());
    }

    [Fact]
    public async Task Terminology_operations_answer_from_the_group_and_the_specification()
    {
        var client = server.CreateClient();
        var expansion = await (await client.GetAsync("/fhir/ValueSet/$expand?url=https://interop.example/fhir/ValueSet/team-role")).ReadJson();
        Assert.Equal(8, expansion["expansion"]!["contains"]!.AsArray().Count);
        var gender = await (await client.GetAsync("/fhir/ValueSet/$expand?url=http://hl7.org/fhir/ValueSet/administrative-gender")).ReadJson();
        Assert.Contains(gender["expansion"]!["contains"]!.AsArray(), c => c!["code"]!.GetValue<string>() == "female");

        async Task<bool> Valid(string query)
        {
            var answer = await (await client.GetAsync("/fhir/ValueSet/$validate-code?" + query)).ReadJson();
            return answer["parameter"]!.AsArray().First(p => p!["name"]!.GetValue<string>() == "result")!["valueBoolean"]!.GetValue<bool>();
        }
        Assert.True(await Valid("url=https://interop.example/fhir/ValueSet/chronic-conditions&system=http://snomed.info/sct&code=44054006"));
        Assert.False(await Valid("url=https://interop.example/fhir/ValueSet/chronic-conditions&system=http://snomed.info/sct&code=22298006"));

        var lookup = await (await client.GetAsync("/fhir/CodeSystem/$lookup?system=https://interop.example/fhir/CodeSystem/team-role&code=nurse")).ReadJson();
        Assert.Contains(lookup["parameter"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "display");
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/fhir/CodeSystem/$lookup?system=https://interop.example/fhir/CodeSystem/team-role&code=astronaut")).StatusCode);
        // instance level: the stored ValueSet's own id
        var byId = await (await client.GetAsync("/fhir/ValueSet/referral-direction/$expand")).ReadJson();
        Assert.Equal(2, byId["expansion"]!["contains"]!.AsArray().Count);
    }

    [Fact]
    public async Task The_guide_is_readable_searchable_and_in_the_capability_statement()
    {
        var client = server.CreateClient();
        var found = await (await client.GetAsync("/fhir/StructureDefinition?url=https://interop.example/fhir/StructureDefinition/referral")).ReadJson();
        Assert.Equal("referral", found["entry"]![0]!["resource"]!["id"]!.GetValue<string>());
        Assert.NotEmpty((await (await client.GetAsync("/fhir/SearchParameter?base=ServiceRequest&code=referral-direction")).ReadJson())["entry"]!.AsArray());
        var metadata = await (await client.GetAsync("/fhir/metadata")).ReadJson();
        var episode = metadata["rest"]![0]!["resource"]!.AsArray().First(r => r!["type"]!.GetValue<string>() == "EpisodeOfCare")!;
        var supported = episode["supportedProfile"]!.AsArray().Select(p => p!.GetValue<string>()).ToList();
        Assert.Contains("https://interop.example/fhir/StructureDefinition/family-doctor-contract", supported);
        Assert.Contains(episode["searchParam"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "care-manager");
    }

    [Fact]
    public async Task The_groups_search_parameters_are_indexed()
    {
        var client = server.CreateClient();
        var referral = ProfileTests.Example("ServiceRequest-example-referral");
        referral.Remove("id");
        var note = Guid.NewGuid().ToString("N");
        referral["code"]!["text"] = note;
        await client.PostAsync("/fhir/ServiceRequest", FhirTest.Body(referral.ToJsonString()));
        var up = await (await client.GetAsync($"/fhir/ServiceRequest?referral-direction=up&_total=accurate&_content={note}")).ReadJson();
        var down = await (await client.GetAsync($"/fhir/ServiceRequest?referral-direction=down&_total=accurate&_content={note}")).ReadJson();
        Assert.Equal(1, up["total"]!.GetValue<int>());
        Assert.Equal(0, down["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_profile_uploaded_at_run_time_is_used_at_once_here_and_on_another_server()
    {
        var client = server.CreateClient();
        var url = $"https://interop.example/fhir/StructureDefinition/test-{Guid.NewGuid():N}";
        var id = url[(url.LastIndexOf('/') + 1)..];
        var profile = $$$"""
            {"resourceType":"StructureDefinition","id":"{{{id}}}","url":"{{{url}}}","name":"TestPatient","status":"active","fhirVersion":"4.0.1",
             "kind":"resource","abstract":false,"type":"Patient","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint",
             "differential":{"element":[{"id":"Patient","path":"Patient"},{"id":"Patient.birthDate","path":"Patient.birthDate","min":1}]}}
            """;
        var patient = $$"""{"resourceType":"Patient","meta":{"profile":["{{url}}"]},"active":true}""";
        // Before: the profile is unknown.
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await client.PostAsync("/fhir/Patient", FhirTest.Body(patient))).StatusCode);
        // Another server on the same database, started now, hears of the upload through PostgreSQL.
        await using var other = new SecondServer(server.ConnectionString);
        var otherClient = other.CreateClient();
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await otherClient.PostAsync("/fhir/Patient", FhirTest.Body(patient))).StatusCode);

        Assert.Equal(HttpStatusCode.Created, (await client.PutAsync($"/fhir/StructureDefinition/{id}", FhirTest.Body(profile))).StatusCode);
        var refused = await client.PostAsync("/fhir/Patient", FhirTest.Body(patient));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Contains("birthDate", await refused.Content.ReadAsStringAsync());
        var withBirth = patient.Replace("\"active\":true", "\"active\":true,\"birthDate\":\"1950-02-03\"");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/fhir/Patient", FhirTest.Body(withBirth))).StatusCode);

        // The other server: within moments (the notification is asynchronous), without a restart.
        HttpStatusCode status = 0;
        for (var i = 0; i < 50 && status != HttpStatusCode.Created; i++)
        {
            if (i > 0) await Task.Delay(100);
            status = (await otherClient.PostAsync("/fhir/Patient", FhirTest.Body(withBirth))).StatusCode;
        }
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await otherClient.PostAsync("/fhir/Patient", FhirTest.Body(patient))).StatusCode);
    }

    [Fact]
    public async Task Only_an_admin_changes_the_profiles()
    {
        var admin = server.CreateClient();
        var clientId = "station-" + Guid.NewGuid().ToString("N")[..8];
        var register = await admin.PostAsync("/admin/clients", new StringContent(
            System.Text.Json.JsonSerializer.Serialize(new { clientId, type = "confidential", secret = "station-secret-0123456789", scopes = "system/*.cruds", roles = new[] { "clinician" } }),
            System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        var station = server.CreateClient();
        station.DefaultRequestHeaders.Authorization = new("Bearer", await server.Token(clientId, "station-secret-0123456789"));
        var profile = await (await admin.GetAsync("/fhir/StructureDefinition/referral")).Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, (await station.GetAsync("/fhir/StructureDefinition/referral")).StatusCode);
        var refused = await station.PutAsync("/fhir/StructureDefinition/referral", FhirTest.Body(profile));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("admin role", await refused.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, (await station.DeleteAsync("/fhir/ValueSet/team-role")).StatusCode);
        Assert.Equal("1", (await (await admin.GetAsync("/fhir/StructureDefinition/referral")).ReadJson())["meta"]!["versionId"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_profile_that_cannot_be_used_is_refused()
    {
        var profile = """
            {"resourceType":"StructureDefinition","id":"broken-base","url":"https://interop.example/fhir/StructureDefinition/broken-base","name":"Broken","status":"active",
             "fhirVersion":"4.0.1","kind":"resource","abstract":false,"type":"Patient","baseDefinition":"https://nowhere.example/StructureDefinition/missing","derivation":"constraint",
             "differential":{"element":[{"id":"Patient","path":"Patient"}]}}
            """;
        var response = await server.CreateClient().PutAsync("/fhir/StructureDefinition/broken-base", FhirTest.Body(profile));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("cannot be used", await response.Content.ReadAsStringAsync());
    }

    private sealed class SecondServer(string connectionString) : Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("ConnectionStrings:Interop", connectionString);
            builder.UseSetting("Auth:AdminSecret", FhirServerFixture.AdminSecret);
        }

        protected override void ConfigureClient(HttpClient client)
        {
            base.ConfigureClient(client);
            client.DefaultRequestHeaders.Authorization = new("Bearer", FhirServerFixture.Token(Server, "admin", FhirServerFixture.AdminSecret).GetAwaiter().GetResult());
        }
    }
}
