using System.Net;
using System.Xml.Linq;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Rest;

/// <summary>JSON and XML both ways, _format, Accept, _pretty, _summary, _elements.</summary>
public sealed class FormatTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    private const string PatientXml = """
        <Patient xmlns="http://hl7.org/fhir">
          <name><family value="Liu"/><given value="Yang"/></name>
          <gender value="male"/>
          <birthDate value="1961-07-09"/>
        </Patient>
        """;

    [Fact]
    public async Task Xml_in_json_out_and_xml_out()
    {
        var client = server.CreateClient();
        var created = await client.PostAsync("/fhir/Patient", FhirTest.Body(PatientXml, "application/fhir+xml"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.ReadJson())["id"]!.GetValue<string>();

        var request = new HttpRequestMessage(HttpMethod.Get, $"/fhir/Patient/{id}");
        request.Headers.Accept.Add(FhirTest.Accept("application/fhir+xml"));
        var xml = await client.SendAsync(request);
        Assert.Equal("application/fhir+xml", xml.Content.Headers.ContentType?.MediaType);
        var doc = XDocument.Parse(await xml.Content.ReadAsStringAsync());
        XNamespace f = "http://hl7.org/fhir";
        Assert.Equal("Liu", doc.Root!.Element(f + "name")!.Element(f + "family")!.Attribute("value")!.Value);

        var viaParam = await client.GetAsync($"/fhir/Patient/{id}?_format=xml");
        Assert.Equal("application/fhir+xml", viaParam.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Malformed_xml_is_400_with_position()
    {
        var response = await server.CreateClient().PostAsync("/fhir/Patient", FhirTest.Body("<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"></Patient>", "application/fhir+xml"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("line 1", (await response.Issues())[0].Expression);
    }

    [Fact]
    public async Task Xml_with_a_dtd_is_refused()
    {
        var xxe = """<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><Patient xmlns="http://hl7.org/fhir"><id value="&x;"/></Patient>""";
        var response = await server.CreateClient().PostAsync("/fhir/Patient", FhirTest.Body(xxe, "application/fhir+xml"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("application/json", "application/json")]
    [InlineData("application/fhir+json", "application/fhir+json")]
    [InlineData("text/html, */*;q=0.8", "application/fhir+json")]
    [InlineData("application/fhir+json; fhirVersion=4.0", "application/fhir+json")]
    public async Task Accept_header_picks_the_media_type(string accept, string expected)
    {
        var client = server.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Get, "/fhir/metadata");
        request.Headers.TryAddWithoutValidation("Accept", accept);
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Plain_application_json_bodies_are_accepted()
    {
        var response = await server.CreateClient().PostAsync("/fhir/Patient", FhirTest.Body("""{"resourceType":"Patient","active":true}""", "application/json"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task Pretty_summary_and_elements()
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient
        {
            Active = true, Gender = AdministrativeGender.Female, BirthDate = "1950-01-01",
            Name = [new HumanName { Family = "Zhou" }],
            Text = new Narrative { Status = Narrative.NarrativeStatus.Generated, Div = "<div xmlns=\"http://www.w3.org/1999/xhtml\">Zhou</div>" },
            Contact = [new Patient.ContactComponent { Name = new HumanName { Family = "Zhou Jr" } }],
        });

        var pretty = await (await client.GetAsync($"/fhir/Patient/{id}?_pretty=true")).Content.ReadAsStringAsync();
        Assert.Contains("\n  ", pretty);

        var summary = await (await client.GetAsync($"/fhir/Patient/{id}?_summary=true")).ReadJson();
        Assert.Null(summary["contact"]);
        Assert.NotNull(summary["name"]);
        Assert.Contains(summary["meta"]!["tag"]!.AsArray(), t => t!["code"]!.GetValue<string>() == "SUBSETTED");

        var elements = await (await client.GetAsync($"/fhir/Patient/{id}?_elements=gender")).ReadJson();
        Assert.NotNull(elements["gender"]);
        Assert.Null(elements["name"]);
        Assert.Null(elements["birthDate"]);
        Assert.Contains(elements["meta"]!["tag"]!.AsArray(), t => t!["code"]!.GetValue<string>() == "SUBSETTED");

        var bad = await client.GetAsync($"/fhir/Patient/{id}?_summary=maybe");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("_summary", (await bad.Issues())[0].Expression);
    }

    [Fact]
    public async Task Non_ascii_text_round_trips_unescaped()
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient { Name = [new HumanName { Text = "王秀英" }] });
        var raw = await (await client.GetAsync($"/fhir/Patient/{id}")).Content.ReadAsStringAsync();
        Assert.Contains("王秀英", raw);
    }
}
