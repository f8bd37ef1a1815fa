using Interop.Fhir.Errors;
using Interop.Fhir.Patch;
using Interop.Fhir.Search;

namespace Interop.UnitTests;

public sealed class ParserTests
{
    private static SearchQuery Parse(string query, bool strict = false) =>
        SearchQueryParser.Parse(["Patient"], query.Split('&').Select(p => p.Split('=', 2)).Select(kv => new KeyValuePair<string, string>(kv[0], kv[1])), strict, 50, 1000);

    [Theory]
    [InlineData("family=wang&birthdate=ge1950", 2)]
    [InlineData("name=a,b,c", 1)]
    [InlineData("general-practitioner:Practitioner.name=li", 1)]
    [InlineData("_has:Observation:patient:code=1234-5", 1)]
    public void Criteria_are_parsed(string query, int criteria) => Assert.Equal(criteria, Parse(query).Criteria.Count);

    [Theory]
    [InlineData("unknown=1", false, 0, 1)]
    [InlineData("_count=5", false, 0, 0)]
    public void Unknown_parameters_are_warnings_when_lenient(string query, bool strict, int criteria, int warnings)
    {
        var parsed = Parse(query, strict);
        Assert.Equal(criteria, parsed.Criteria.Count);
        Assert.Equal(warnings, parsed.Warnings.Count);
    }

    public static TheoryData<string, string> Refused => new()
    {
        { "unknown=1|strict", "unknown" },
        { "name=a%00b", "name" },
        { string.Join("&", Enumerable.Range(0, 41).Select(i => $"family=a{i}")), "41" },
        { "family=" + string.Join(",", Enumerable.Range(0, 101)), "family" },
        { "a.b.c.d.e.f=1", "a.b.c.d.e.f" },
        { "birthdate=2020-02-30", "birthdate" },
        { "_count=abc", "_count" },
        { "_sort=" + string.Join(",", Enumerable.Repeat("birthdate", 9)), "_sort" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Refused_searches_name_the_parameter(string query, string expression)
    {
        var strict = query.EndsWith("|strict");
        var text = Uri.UnescapeDataString(strict ? query[..^"|strict".Length] : query);
        var e = Assert.Throws<FhirException>(() => Parse(text, strict));
        Assert.Equal(ErrorKind.Invalid, e.Kind);
        Assert.Equal(expression, e.Outcome.Issue[0].Expression.Single());
    }

    [Theory]
    [InlineData("""[{"op":"replace","path":"/active","value":false}]""", "\"active\":false")]
    [InlineData("""[{"op":"add","path":"/name/-","value":{"family":"Li"}}]""", "\"family\":\"Li\"")]
    [InlineData("""[{"op":"remove","path":"/active"}]""", "\"id\":\"p\",\"name\"")]
    public void Json_patch_operations(string patch, string expected) =>
        Assert.Contains(expected, JsonPatch.Apply("""{"resourceType":"Patient","id":"p","active":true,"name":[]}""", System.Text.Encoding.UTF8.GetBytes(patch)));

    [Theory]
    [InlineData("""[{"op":1,"path":"/active"}]""", ErrorKind.Invalid)]
    [InlineData("""[{"op":"remove","path":"/missing"}]""", ErrorKind.Invalid)]
    [InlineData("""[{"op":"test","path":"/active","value":false}]""", ErrorKind.PreconditionFailed)]
    [InlineData("""{"op":"add"}""", ErrorKind.Invalid)]
    [InlineData("""[{"op":"add","path":"/a","path":"/b","value":1}]""", ErrorKind.Invalid)]
    public void Bad_json_patches(string patch, ErrorKind kind) =>
        Assert.Equal(kind, Assert.Throws<FhirException>(() =>
            JsonPatch.Apply("""{"resourceType":"Patient","id":"p","active":true}""", System.Text.Encoding.UTF8.GetBytes(patch))).Kind);
}
