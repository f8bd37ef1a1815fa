using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace Interop.Tests.Infrastructure;

/// <summary>Small helpers for talking FHIR JSON over HttpClient in tests.</summary>
public static class FhirTest
{
    public const string Json = "application/fhir+json";

    public static StringContent Body(string json, string mediaType = Json) => new(json, Encoding.UTF8, mediaType);

    public static StringContent Body(Resource resource) => Body(resource.ToJson());

    public static async Task<JsonObject> ReadJson(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    private static readonly System.Text.Json.JsonSerializerOptions FhirJson = new System.Text.Json.JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    public static async Task<T> ReadResource<T>(this HttpResponseMessage response) where T : Resource =>
        System.Text.Json.JsonSerializer.Deserialize<T>(await response.Content.ReadAsStringAsync(), FhirJson)!;

    public static async Task<HttpResponseMessage> Create(this HttpClient client, Resource resource)
    {
        var response = await client.PostAsync($"/fhir/{resource.TypeName}", Body(resource));
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return response;
    }

    public static async Task<string> CreateId(this HttpClient client, Resource resource)
    {
        var response = await client.Create(resource);
        return (await response.ReadJson())["id"]!.GetValue<string>();
    }

    public static HttpRequestMessage Request(HttpMethod method, string url, string? json = null, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(method, url);
        if (json is not null) request.Content = Body(json);
        foreach (var (name, value) in headers)
            if (!request.Headers.TryAddWithoutValidation(name, value)) request.Content!.Headers.TryAddWithoutValidation(name, value);
        return request;
    }

    /// <summary>Issues of an OperationOutcome body, as (code, diagnostics, expression).</summary>
    public static async Task<List<(string Code, string Diagnostics, string? Expression)>> Issues(this HttpResponseMessage response)
    {
        Assert.StartsWith("application/fhir+json", response.Content.Headers.ContentType?.ToString());
        var body = await response.ReadJson();
        Assert.Equal("OperationOutcome", body["resourceType"]!.GetValue<string>());
        return body["issue"]!.AsArray().Select(i => (
            i!["code"]!.GetValue<string>(),
            i["diagnostics"]?.GetValue<string>() ?? "",
            i["expression"]?.AsArray().FirstOrDefault()?.GetValue<string>())).ToList();
    }

    public static MediaTypeWithQualityHeaderValue Accept(string mediaType) => new(mediaType);
}
