using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Rest;

public sealed class PatchTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    private static HttpRequestMessage JsonPatch(string url, string patch, string? ifMatch = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, url) { Content = new StringContent(patch, Encoding.UTF8, "application/json-patch+json") };
        if (ifMatch is not null) request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        return request;
    }

    [Fact]
    public async Task Json_patch_applies_and_makes_a_new_version()
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient { Active = true, Name = [new HumanName { Family = "Lin" }] });
        var response = await client.SendAsync(JsonPatch($"/fhir/Patient/{id}",
            """[{"op":"replace","path":"/active","value":false},{"op":"add","path":"/birthDate","value":"1949-10-01"},{"op":"add","path":"/name/0/given","value":["Hua"]}]""", "W/\"1\""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.ReadJson();
        Assert.False(body["active"]!.GetValue<bool>());
        Assert.Equal("1949-10-01", body["birthDate"]!.GetValue<string>());
        Assert.Equal("2", body["meta"]!["versionId"]!.GetValue<string>());
        Assert.Equal("Hua", body["name"]![0]!["given"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task Invalid_patch_results_and_bad_patches_are_rejected_and_nothing_is_stored()
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient { Active = true });
        var invalid = await client.SendAsync(JsonPatch($"/fhir/Patient/{id}", """[{"op":"add","path":"/birthDate","value":"not-a-date"}]"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, invalid.StatusCode);
        Assert.Equal("Patient.birthDate", (await invalid.Issues())[0].Expression);
        var missing = await client.SendAsync(JsonPatch($"/fhir/Patient/{id}", """[{"op":"remove","path":"/gender"}]"""));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        var failedTest = await client.SendAsync(JsonPatch($"/fhir/Patient/{id}", """[{"op":"test","path":"/active","value":false}]"""));
        Assert.Equal(HttpStatusCode.PreconditionFailed, failedTest.StatusCode);
        var stale = await client.SendAsync(JsonPatch($"/fhir/Patient/{id}", """[{"op":"replace","path":"/active","value":false}]""", "W/\"5\""));
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        var changeId = await client.SendAsync(JsonPatch($"/fhir/Patient/{id}", """[{"op":"replace","path":"/id","value":"other"}]"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, changeId.StatusCode);
        Assert.Equal("W/\"1\"", (await client.GetAsync($"/fhir/Patient/{id}")).Headers.ETag?.ToString());
    }

    [Fact]
    public async Task FhirPath_patch_operations()
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient
        {
            Active = true, BirthDate = "1950-01-01",
            Name = [new HumanName { Family = "Zhao", Given = ["A", "B"] }],
            Telecom = [new ContactPoint(ContactPoint.ContactPointSystem.Phone, null, "111")],
        });
        Parameters.ParameterComponent Op(string type, string path, params (string Name, DataType Value)[] parts)
        {
            var op = new Parameters.ParameterComponent { Name = "operation" };
            op.Part.Add(new Parameters.ParameterComponent { Name = "type", Value = new Code(type) });
            op.Part.Add(new Parameters.ParameterComponent { Name = "path", Value = new FhirString(path) });
            foreach (var (name, value) in parts) op.Part.Add(new Parameters.ParameterComponent { Name = name, Value = value });
            return op;
        }
        var patch = new Parameters
        {
            Parameter =
            [
                Op("replace", "Patient.birthDate", ("value", new Date("1951-02-02"))),
                Op("add", "Patient", ("name", new FhirString("gender")), ("value", new Code("female"))),
                Op("insert", "Patient.name[0].given", ("value", new FhirString("C")), ("index", new Integer(0))),
                Op("delete", "Patient.telecom"),
                Op("move", "Patient.name[0].given", ("source", new Integer(2)), ("destination", new Integer(0))),
            ],
        };
        var request = new HttpRequestMessage(HttpMethod.Patch, $"/fhir/Patient/{id}") { Content = FhirTest.Body(patch) };
        var response = await client.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var patient = await response.ReadResource<Patient>();
        Assert.Equal("1951-02-02", patient.BirthDate);
        Assert.Equal(AdministrativeGender.Female, patient.Gender);
        Assert.Equal(["B", "C", "A"], patient.Name[0].Given);
        Assert.Empty(patient.Telecom);

        var bad = new Parameters { Parameter = [Op("explode", "Patient.active")] };
        var badResponse = await client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, $"/fhir/Patient/{id}") { Content = FhirTest.Body(bad) });
        Assert.Equal(HttpStatusCode.BadRequest, badResponse.StatusCode);
        Assert.Equal("Parameters.parameter[0]", (await badResponse.Issues())[0].Expression);
    }
}
