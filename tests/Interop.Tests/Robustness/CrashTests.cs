using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Robustness;

/// <summary>Issue 8, items 1 and 14: inputs that used to overflow the stack (ending the process) or fail at indexing.</summary>
public sealed class CrashTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    private static string NestedXml(int depth, string element = "extension")
    {
        var sb = new StringBuilder("<Patient xmlns=\"http://hl7.org/fhir\">");
        for (var i = 0; i < depth; i++) sb.Append($"<{element} url=\"http://x/{i}\">");
        if (element == "extension") sb.Append("<valueString value=\"x\"/>"); // ext-1: the innermost has a value
        for (var i = 0; i < depth; i++) sb.Append($"</{element}>");
        return sb.Append("</Patient>").ToString();
    }

    private static string NestedJson(int depth)
    {
        var sb = new StringBuilder("{\"resourceType\":\"Patient\",\"extension\":[");
        for (var i = 0; i < depth; i++) sb.Append("{\"url\":\"http://x\",\"extension\":[");
        for (var i = 0; i < depth; i++) sb.Append("]}");
        return sb.Append("]}").ToString();
    }

    [Theory]
    [InlineData(10_000, "extension")]
    [InlineData(10_000, "unknownThing")]
    [InlineData(51, "extension")]
    public async Task Deeply_nested_xml_is_400_before_parsing(int depth, string element)
    {
        var response = await server.CreateClient().PostAsync("/fhir/Patient", FhirTest.Body(NestedXml(depth, element), "application/fhir+xml"));
        var issues = await Hostile.AssertRefused(response, 400);
        Assert.Contains("deeper than 50", issues[0].Diagnostics);
    }

    [Theory]
    [InlineData(60)]
    [InlineData(5_000)]
    public async Task Json_nested_past_the_reader_depth_is_400(int depth)
    {
        var response = await server.CreateClient().PostAsync("/fhir/Patient", FhirTest.Body(NestedJson(depth)));
        var issues = await Hostile.AssertRefused(response, 400);
        Assert.Contains("100", issues[0].Diagnostics);
    }

    [Fact]
    public async Task Xml_nested_within_the_limit_is_stored_indexed_read_and_patched()
    {
        var client = server.CreateClient();
        var created = await client.PostAsync("/fhir/Patient", FhirTest.Body(NestedXml(45), "application/fhir+xml"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = created.Headers.Location!.Segments[^3].TrimEnd('/'); // .../Patient/{id}/_history/1 (the body nests past a test reader's depth)
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/fhir/Patient/{id}?_format=xml")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/fhir/Patient?_id={id}&_content=x")).StatusCode);
        var patch = new HttpRequestMessage(HttpMethod.Patch, $"/fhir/Patient/{id}")
            { Content = new StringContent("""[{"op":"add","path":"/active","value":true}]""", Encoding.UTF8, "application/json-patch+json") };
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(patch)).StatusCode);
    }

    public static TheoryData<string, string> DeepPaths => new()
    {
        { "5,000 nested parentheses", "Patient.name" + new string('(', 5000) + new string(')', 5000) },
        { "Patient.name 20,000 times", "Patient" + string.Concat(Enumerable.Repeat(".name", 20_000)) },
        { "17 nested brackets", "Patient.name.where(" + new string('(', 16) + "true" + new string(')', 16) + ")" },
        { "a syntax error", "Patient.name[" },
        { "an unclosed function", "Patient.name.where(" },
    };

    [Theory]
    [MemberData(nameof(DeepPaths))]
    public async Task FhirPath_patch_paths_are_bounded_and_checked_before_compiling(string label, string path)
    {
        Assert.NotEmpty(label);
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient { Active = true, Name = [new HumanName { Family = "Li" }] });
        var patch = new Parameters();
        patch.Parameter.Add(new Parameters.ParameterComponent
        {
            Name = "operation",
            Part = [new() { Name = "type", Value = new Code("delete") }, new() { Name = "path", Value = new FhirString(path) }],
        });
        var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, $"/fhir/Patient/{id}") { Content = FhirTest.Body(patch) });
        var issues = await Hostile.AssertRefused(response, 400);
        Assert.Equal("Parameters.parameter[0]", issues[0].Expression);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/fhir/Patient/{id}")).StatusCode);
    }
}
