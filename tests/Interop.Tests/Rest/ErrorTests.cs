using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;
using Npgsql;

namespace Interop.Tests.Rest;

/// <summary>Every failure is an OperationOutcome with the right status and says what and where.</summary>
public sealed class ErrorTests(ErrorTests.SmallBodyFixture server) : IClassFixture<ErrorTests.SmallBodyFixture>
{
    public sealed class SmallBodyFixture : FhirServerFixture
    {
        protected override IDictionary<string, string> Settings => new Dictionary<string, string> { ["Fhir:MaxBodyBytes"] = "4096" };
    }

    [Fact]
    public async Task Parse_errors_are_400_with_one_issue_per_problem_and_its_expression()
    {
        var client = server.CreateClient();
        var response = await client.PostAsync("/fhir/Patient",
            FhirTest.Body("""{"resourceType":"Patient","birthDate":"1950-13-01","gender":"x","unknownThing":1}"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var issues = await response.Issues();
        Assert.Contains(issues, i => i.Expression == "Patient.birthDate");
        Assert.Contains(issues, i => i.Expression == "Patient.gender");
        Assert.Contains(issues, i => i.Expression == "Patient.unknownThing");
    }

    [Fact]
    public async Task Malformed_json_is_400_with_its_line()
    {
        var response = await server.CreateClient().PostAsync("/fhir/Patient", FhirTest.Body("{\"resourceType\":\"Patient\",\n\"active\": tru }"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var issue = Assert.Single(await response.Issues());
        Assert.Equal("structure", issue.Code);
        Assert.Equal("line 2", issue.Expression);
    }

    [Fact]
    public async Task Body_of_another_type_than_the_url_is_400()
    {
        var response = await server.CreateClient().PostAsync("/fhir/Patient", FhirTest.Body(new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "1") }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Observation", (await response.Issues())[0].Diagnostics);
    }

    [Fact]
    public async Task Update_with_mismatched_or_missing_body_id_is_400()
    {
        var client = server.CreateClient();
        var mismatch = await client.PutAsync("/fhir/Patient/abc", FhirTest.Body(new Patient { Id = "xyz" }));
        Assert.Equal(HttpStatusCode.BadRequest, mismatch.StatusCode);
        Assert.Equal("Patient.id", (await mismatch.Issues())[0].Expression);
        var missing = await client.PutAsync("/fhir/Patient/abc", FhirTest.Body(new Patient { Active = true }));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        var badId = await client.PutAsync("/fhir/Patient/bad_id!", FhirTest.Body(new Patient { Id = "bad_id!" }));
        Assert.Equal(HttpStatusCode.BadRequest, badId.StatusCode);
    }

    [Theory]
    [InlineData("/fhir/NotAType/1", "not a FHIR R4 resource type")]
    [InlineData("/fhir/Patient/does-not-exist", "does not exist")]
    [InlineData("/fhir/Patient/x/_history/abc", "positive integers")]
    [InlineData("/fhir/Patient/x/y/z/w", "matches no FHIR interaction")]
    public async Task Unknown_things_are_404(string url, string message)
    {
        var response = await server.CreateClient().GetAsync(url);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains(message, (await response.Issues())[0].Diagnostics);
    }

    [Fact]
    public async Task Wrong_method_is_405()
    {
        var response = await server.CreateClient().PostAsync("/fhir/Patient/123", FhirTest.Body(new Patient { Active = true }));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("not-supported", (await response.Issues())[0].Code);
    }

    [Fact]
    public async Task Unproducible_accept_is_406_and_unknown_format_too()
    {
        var client = server.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Get, "/fhir/metadata");
        request.Headers.Accept.Add(FhirTest.Accept("text/plain"));
        Assert.Equal(HttpStatusCode.NotAcceptable, (await client.SendAsync(request)).StatusCode);
        Assert.Equal(HttpStatusCode.NotAcceptable, (await client.GetAsync("/fhir/metadata?_format=csv")).StatusCode);
    }

    [Fact]
    public async Task Stale_if_match_is_412_and_malformed_if_match_is_400()
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient { Active = true });
        var json = new Patient { Id = id, Active = true }.ToJson();
        var stale = await client.SendAsync(FhirTest.Request(HttpMethod.Put, $"/fhir/Patient/{id}", json, ("If-Match", "W/\"7\"")));
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        Assert.Contains("current is W/\"1\"", (await stale.Issues())[0].Diagnostics);
        var malformed = await client.SendAsync(FhirTest.Request(HttpMethod.Put, $"/fhir/Patient/{id}", json, ("If-Match", "seven")));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("If-Match", (await malformed.Issues())[0].Expression);
    }

    [Fact]
    public async Task Deleted_resource_is_410()
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient { Active = true });
        await client.DeleteAsync($"/fhir/Patient/{id}");
        var response = await client.GetAsync($"/fhir/Patient/{id}");
        Assert.Equal(HttpStatusCode.Gone, response.StatusCode);
        Assert.Equal("deleted", (await response.Issues())[0].Code);
        Assert.Equal(HttpStatusCode.Gone, (await client.GetAsync($"/fhir/Patient/{id}/_history/2")).StatusCode);
    }

    [Fact]
    public async Task Oversized_body_is_413()
    {
        var big = new Patient { Text = new Narrative { Status = Narrative.NarrativeStatus.Generated, Div = $"<div xmlns=\"http://www.w3.org/1999/xhtml\">{new string('x', 8000)}</div>" } };
        var response = await server.CreateClient().PostAsync("/fhir/Patient", FhirTest.Body(big));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("4096", (await response.Issues())[0].Diagnostics);
    }

    [Fact]
    public async Task Unsupported_media_type_is_415()
    {
        var response = await server.CreateClient().PostAsync("/fhir/Patient", new StringContent("a=b", Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Contains("application/x-www-form-urlencoded", (await response.Issues())[0].Diagnostics);
    }

    [Fact]
    public async Task Bad_history_parameters_are_400_naming_the_parameter()
    {
        var client = server.CreateClient();
        var count = await client.GetAsync("/fhir/Patient/_history?_count=-1");
        Assert.Equal(HttpStatusCode.BadRequest, count.StatusCode);
        Assert.Equal("_count", (await count.Issues())[0].Expression);
        var since = await client.GetAsync("/fhir/_history?_since=yesterday");
        Assert.Equal("_since", (await since.Issues())[0].Expression);
    }
}

/// <summary>An unexpected failure (here: a table vanished under the server) is a 500 OperationOutcome with a correlation id.</summary>
public sealed class UnexpectedErrorTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    [Fact]
    public async Task Unexpected_exception_is_500_with_correlation_id_and_no_stack_trace()
    {
        var client = server.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/fhir/metadata")).StatusCode);
        await using (var db = new NpgsqlConnection(server.ConnectionString))
        {
            await db.OpenAsync();
            await using var sabotage = new NpgsqlCommand("alter table fhir.mt_doc_resourcedoc rename to gone", db);
            await sabotage.ExecuteNonQueryAsync();
        }
        var response = await client.GetAsync("/fhir/Patient/anything");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var correlationId = Assert.Single(response.Headers.GetValues("X-Correlation-Id"));
        var issue = Assert.Single(await response.Issues());
        Assert.Contains(correlationId, issue.Diagnostics);
        Assert.DoesNotContain(" at ", issue.Diagnostics);
        Assert.DoesNotContain("gone", issue.Diagnostics);
    }
}
