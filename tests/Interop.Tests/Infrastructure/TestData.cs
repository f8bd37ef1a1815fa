using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;

namespace Interop.Tests.Infrastructure;

/// <summary>
/// The data one test creates: every resource is tagged with a tag unique to the test, and every search is
/// scoped to that tag, so tests sharing a database never see each other's data.
/// </summary>
public sealed class TestData(HttpClient client)
{
    public string Tag { get; } = Guid.NewGuid().ToString("N");
    public HttpClient Client => client;

    public async Task<string> Create(Resource resource)
    {
        resource.Meta ??= new Meta();
        resource.Meta.Tag.Add(new Coding("urn:test", Tag));
        return await client.CreateId(resource);
    }

    public async Task<string> Put(Resource resource)
    {
        resource.Meta ??= new Meta();
        resource.Meta.Tag.Add(new Coding("urn:test", Tag));
        var response = await client.PutAsync($"/fhir/{resource.TypeName}/{resource.Id}", FhirTest.Body(resource));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return resource.Id;
    }

    public string Scoped(string query) => query + (query.Contains('?') ? "&" : "?") + "_tag=urn:test|" + Tag;

    /// <summary>GET a search scoped to this test's data; asserts 200.</summary>
    public async Task<JsonObject> Search(string query, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await client.GetAsync(Scoped(query));
        Assert.True(expected == response.StatusCode, $"{query}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.ReadJson();
    }

    /// <summary>The ids of the entries with search.mode=match, in order.</summary>
    public async Task<List<string>> Ids(string query) => Matches(await Search(query));

    public static List<string> Matches(JsonObject bundle, string mode = "match") =>
        bundle["entry"]?.AsArray().Where(e => e!["search"]?["mode"]?.GetValue<string>() == mode)
            .Select(e => e!["resource"]!["id"]!.GetValue<string>()).ToList() ?? [];
}
