using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Rest;

/// <summary>Full create/read/update/history/delete round trips for the four centre resources.</summary>
public sealed class CrudRoundTripTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    public static TheoryData<string> CentreTypes => ["Patient", "CarePlan", "ServiceRequest", "EpisodeOfCare"];

    private static Resource NewResource(string type) => type switch
    {
        "Patient" => new Patient { Name = [new HumanName { Family = "Chen", Given = ["Mei"] }], Gender = AdministrativeGender.Female, BirthDate = "1948-05-02" },
        "CarePlan" => new CarePlan { Status = RequestStatus.Active, Intent = CarePlan.CarePlanIntent.Plan, Subject = new ResourceReference("Patient/p1"), Title = "Diabetes plan" },
        "ServiceRequest" => new ServiceRequest { Status = RequestStatus.Active, Intent = RequestIntent.Order, Subject = new ResourceReference("Patient/p1"), Priority = RequestPriority.Urgent },
        "EpisodeOfCare" => new EpisodeOfCare { Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = new ResourceReference("Patient/p1"), Period = new Period { Start = "2026-01-01", End = "2026-12-31" } },
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    [Theory]
    [MemberData(nameof(CentreTypes))]
    public async Task Create_read_update_history_delete(string type)
    {
        var client = server.CreateClient();

        var created = await client.Create(NewResource(type));
        var id = (await created.ReadJson())["id"]!.GetValue<string>();
        Assert.Equal($"http://localhost/fhir/{type}/{id}/_history/1", created.Headers.Location?.ToString());
        Assert.Equal("W/\"1\"", created.Headers.ETag?.ToString());
        Assert.NotNull(created.Content.Headers.LastModified);

        var read = await client.GetAsync($"/fhir/{type}/{id}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        var body = await read.ReadJson();
        Assert.Equal("1", body["meta"]!["versionId"]!.GetValue<string>());

        body["language"] = "zh-CN";
        var updated = await client.SendAsync(FhirTest.Request(HttpMethod.Put, $"/fhir/{type}/{id}", body.ToJsonString(), ("If-Match", "W/\"1\"")));
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal("W/\"2\"", updated.Headers.ETag?.ToString());
        Assert.Equal("zh-CN", (await updated.ReadJson())["language"]!.GetValue<string>());

        var v1 = await client.GetAsync($"/fhir/{type}/{id}/_history/1");
        Assert.Null((await v1.ReadJson())["language"]);

        var deleted = await client.DeleteAsync($"/fhir/{type}/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await client.GetAsync($"/fhir/{type}/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/fhir/{type}/{id}")).StatusCode);

        var history = await (await client.GetAsync($"/fhir/{type}/{id}/_history")).ReadJson();
        Assert.Equal("history", history["type"]!.GetValue<string>());
        Assert.Equal(3, history["total"]!.GetValue<int>());
        var methods = history["entry"]!.AsArray().Select(e => e!["request"]!["method"]!.GetValue<string>()).ToArray();
        Assert.Equal(["DELETE", "PUT", "POST"], methods);
        Assert.Null(history["entry"]![0]!["resource"]);
    }

    [Fact]
    public async Task Update_as_create_uses_the_client_id_and_answers_201()
    {
        var client = server.CreateClient();
        var id = "resident-" + Guid.NewGuid().ToString("N")[..8];
        var patient = new Patient { Id = id, Active = true };
        var response = await client.PutAsync($"/fhir/Patient/{id}", FhirTest.Body(patient));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.EndsWith($"/fhir/Patient/{id}/_history/1", response.Headers.Location!.ToString());

        var again = await client.PutAsync($"/fhir/Patient/{id}", FhirTest.Body(patient));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("W/\"2\"", again.Headers.ETag?.ToString());
    }

    [Fact]
    public async Task Create_ignores_a_client_id_and_assigns_one()
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient { Id = "chosen-by-client" });
        Assert.NotEqual("chosen-by-client", id);
    }

    [Fact]
    public async Task Every_version_records_the_writing_client_from_its_token_not_from_a_header()
    {
        var name = "station-" + Guid.NewGuid().ToString("N")[..8];
        var client = await server.ClientWith(name, "system/Patient.cruds");
        // A header claiming to be another client changes nothing: only the token says who writes.
        var request = FhirTest.Request(HttpMethod.Post, "/fhir/Patient", new Patient { Active = true }.ToJson(), ("X-Interop-Client", "someone-else"));
        var created = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var tags = (await created.ReadJson())["meta"]!["tag"]!.AsArray();
        var writers = tags.Where(t => t!["system"]!.GetValue<string>() == "urn:interop:writer").Select(t => t!["code"]!.GetValue<string>()).ToList();
        Assert.Equal([name], writers);
    }

    [Fact]
    public async Task Conditional_read_answers_304_for_the_current_etag()
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient { Active = true });
        var response = await client.SendAsync(FhirTest.Request(HttpMethod.Get, $"/fhir/Patient/{id}", null, ("If-None-Match", "W/\"1\"")));
        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        var changed = await client.SendAsync(FhirTest.Request(HttpMethod.Get, $"/fhir/Patient/{id}", null, ("If-None-Match", "W/\"0\"")));
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
    }

    [Theory]
    [InlineData("return=minimal", "")]
    [InlineData("return=representation", "Patient")]
    [InlineData("return=OperationOutcome", "OperationOutcome")]
    public async Task Prefer_return_shapes_the_create_response(string prefer, string expectedType)
    {
        var client = server.CreateClient();
        var response = await client.SendAsync(FhirTest.Request(HttpMethod.Post, "/fhir/Patient", new Patient { Active = true }.ToJson(), ("Prefer", prefer)));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        if (expectedType == "") Assert.Equal("", text);
        else Assert.Equal(expectedType, (await response.ReadJson())["resourceType"]!.GetValue<string>());
    }
}

