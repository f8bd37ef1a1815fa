using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Robustness;

/// <summary>Issue 8, items 8 to 14 and 17: bad input that used to answer 500 is a 400/422 naming the problem and where.</summary>
public sealed class BadInputTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    private static ByteArrayContent Raw(byte[] bytes, string mediaType = "application/fhir+json")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(mediaType);
        return content;
    }

    [Theory]
    [InlineData("""{"resourceType":"Patient","name":[{"family":"a\u0000b"}]}""", "Patient.name[0].family")]
    [InlineData("""{"resourceType":"Patient","name":[{"given":["x","a\u0001"]}]}""", "Patient.name[0].given[1]")]
    [InlineData("""{"resourceType":"Patient","identifier":[{"system":"urn:x\u0000","value":"1"}]}""", "Patient.identifier[0].system")]
    [InlineData("""{"resourceType":"Patient","name":[{"family":"\uFFFE"}]}""", "Patient.name[0].family")]
    public async Task Characters_fhir_refuses_in_a_body_are_400_with_the_path(string json, string expression)
    {
        var issues = await Hostile.AssertRefused(await server.CreateClient().PostAsync("/fhir/Patient", FhirTest.Body(json)), 400);
        Assert.Equal(expression, issues[0].Expression);
        Assert.Contains("U+", issues[0].Diagnostics);
    }

    [Fact]
    public async Task Nul_in_search_values_and_conditional_headers_is_400_naming_the_parameter()
    {
        var client = server.CreateClient();
        Assert.Equal("name", (await Hostile.AssertRefused(await client.GetAsync("/fhir/Patient?name=a%00b"), 400))[0].Expression);
        Assert.Equal("identifier", (await Hostile.AssertRefused(await client.SendAsync(
            FhirTest.Request(HttpMethod.Post, "/fhir/Patient", "{\"resourceType\":\"Patient\",\"active\":true}", ("If-None-Exist", "identifier=urn:x|a%00"))), 400))[0].Expression);
        await Hostile.AssertRefused(await client.PostAsync("/fhir/Patient/_search", new FormUrlEncodedContent([new("family", "a\0b")])), 400);
        await Hostile.AssertRefused(await client.GetAsync("/fhir/Patient?na%00me=x"), 400);
        // An outcome echoing the bad value can be written as XML too.
        var xml = await client.GetAsync("/fhir/Patient?name=a%00b&_format=xml");
        Assert.Equal(HttpStatusCode.BadRequest, xml.StatusCode);
        Assert.Contains("OperationOutcome", await xml.Content.ReadAsStringAsync());
    }

    public static TheoryData<string, byte[]> BadEncodings => new()
    {
        { "byte 0xFF", [.. Encoding.UTF8.GetBytes("{\"resourceType\":\"Patient\",\"name\":[{\"family\":\""), 0xFF, .. Encoding.UTF8.GetBytes("\"}]}")] },
        { "overlong NUL", [.. Encoding.UTF8.GetBytes("{\"resourceType\":\"Patient\",\"name\":[{\"family\":\""), 0xC0, 0x80, .. Encoding.UTF8.GetBytes("\"}]}")] },
        { "lone high surrogate", Encoding.UTF8.GetBytes("""{"resourceType":"Patient","name":[{"family":"\ud800"}]}""".Replace("\ud800", "\\ud800")) },
        { "lone low surrogate", Encoding.UTF8.GetBytes("""{"resourceType":"Patient","name":[{"family":"x\udc00"}]}""".Replace("\udc00", "\\udc00")) },
    };

    [Theory]
    [MemberData(nameof(BadEncodings))]
    public async Task Invalid_unicode_is_400(string label, byte[] body)
    {
        Assert.NotEmpty(label);
        await Hostile.AssertRefused(await server.CreateClient().PostAsync("/fhir/Patient", Raw(body)), 400);
    }

    [Theory]
    [InlineData("""{"resourceType":"Patient","name":[{"given":["a"],"_given":{"id":"test"}}]}""")]
    [InlineData("[]")]
    [InlineData("\"Patient\"")]
    [InlineData("""{"resourceType":"Resource"}""")]
    [InlineData("""{"resourceType":"DomainResource"}""")]
    [InlineData("""{"resourceType":"Patient","":1}""")]
    [InlineData("""{"resourceType":"Patient","name":{"family":"x"}}""")]
    [InlineData("""{"resourceType":"Patient","active":true,"active":false}""")]
    public async Task Wrong_shapes_are_400(string json)
    {
        await Hostile.AssertRefused(await server.CreateClient().PostAsync("/fhir/Patient", FhirTest.Body(json)), 400);
    }

    [Fact]
    public async Task A_transaction_without_entries_is_an_empty_response_and_form_limits_are_400()
    {
        var client = server.CreateClient();
        var empty = await client.PostAsync("/fhir", FhirTest.Body("""{"resourceType":"Bundle","type":"transaction"}"""));
        Assert.Equal(HttpStatusCode.OK, empty.StatusCode);
        Assert.Equal("transaction-response", (await empty.ReadJson())["type"]!.GetValue<string>());
        var longKey = await client.PostAsync("/fhir/Patient/_search", new FormUrlEncodedContent([new(new string('k', 3000), "x")]));
        await Hostile.AssertRefused(longKey, 400);
        var manyFields = await client.PostAsync("/fhir/Patient/_search", new FormUrlEncodedContent(Enumerable.Range(0, 2000).Select(i => new KeyValuePair<string, string>($"f{i}", "x"))));
        await Hostile.AssertRefused(manyFields, 400);
    }

    [Fact]
    public async Task Long_values_are_stored_and_found_by_their_indexed_prefix()
    {
        var client = server.CreateClient();
        var data = new TestData(client);
        var family = "Long" + string.Concat(Enumerable.Range(0, 300).Select(i => $"x{i}"));
        var words = string.Join(' ', Enumerable.Range(0, 120_000).Select(i => $"w{i}"));
        var id = await data.Create(new Patient
        {
            Name = [new HumanName { Family = family }],
            Identifier = [new Identifier("urn:long:" + new string('s', 3000), new string('v', 3000))],
            Text = new Narrative { Status = Narrative.NarrativeStatus.Generated, Div = $"<div xmlns=\"http://www.w3.org/1999/xhtml\">{words}</div>" },
        });
        Assert.Equal([id], await data.Ids($"/fhir/Patient?family={family[..300]}"));
        Assert.Equal([id], await data.Ids($"/fhir/Patient?family:exact={family}"));
        Assert.Equal([id], await data.Ids($"/fhir/Patient?identifier={new string('v', 3000)}"));
        Assert.Equal([id], await data.Ids("/fhir/Patient?_text=w100"));
    }

    [Theory]
    [InlineData("""[{"op":1,"path":"/active","value":true}]""", 400)]
    [InlineData("""[{"op":"add","path":"/active","path":"/gender","value":true}]""", 400)]
    [InlineData("""[{"op":"add","path":"/","value":true}]""", 422)]
    [InlineData("""[{"op":"add","path":["a"],"value":true}]""", 400)]
    [InlineData("""[{"op":"move","from":7,"path":"/active"}]""", 400)]
    [InlineData("""{"op":"add"}""", 400)]
    public async Task Malformed_json_patches_are_4xx(string patch, int status)
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient { Active = true });
        var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, $"/fhir/Patient/{id}")
            { Content = new StringContent(patch, Encoding.UTF8, "application/json-patch+json") });
        await Hostile.AssertRefused(response, status);
        Assert.Equal("W/\"1\"", (await client.GetAsync($"/fhir/Patient/{id}")).Headers.ETag?.ToString());
    }

    [Theory]
    [InlineData("/fhir/Patient?birthdate=2020-01-01T00:00:00%2B99:99")]
    [InlineData("/fhir/Patient?birthdate=2020-02-30")]
    [InlineData("/fhir/Patient?birthdate=ap0001-01-01T00:00:00%2B14:00")]
    [InlineData("/fhir/Observation?value-quantity=1e99999")]
    public async Task Bad_dates_and_numbers_in_searches_are_400(string url)
    {
        await Hostile.AssertRefused(await server.CreateClient().GetAsync(url), 400);
    }

    [Fact]
    public async Task Extreme_dates_are_answered()
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient { BirthDate = "9999-12-31" });
        var request = new HttpRequestMessage(HttpMethod.Get, $"/fhir/Patient/{id}");
        request.Headers.TryAddWithoutValidation("If-Modified-Since", "Fri, 31 Dec 9999 23:59:59 GMT");
        Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(request)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/fhir/Patient?birthdate=ap9999-12-31")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/fhir/Patient?birthdate=9999-12-31")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/fhir/Patient?birthdate=ap0001-01-01")).StatusCode);
    }

    [Theory]
    [InlineData("application/fhir+xml", """<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div></text></Patient>""")]
    [InlineData("application/fhir+json", """{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(1)</script></div>"}}""")]
    public async Task Script_in_narrative_is_refused_in_every_format(string mediaType, string body)
    {
        var issues = await Hostile.AssertRefused(await server.CreateClient().PostAsync("/fhir/Patient", FhirTest.Body(body, mediaType)), 400);
        Assert.Contains(issues, i => i.Expression?.Contains("div") == true || i.Diagnostics.Contains("script", StringComparison.OrdinalIgnoreCase));
    }
}
