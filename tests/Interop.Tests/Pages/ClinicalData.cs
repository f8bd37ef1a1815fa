using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Interop.Tests.Pages;

/// <summary>
/// Test data for the clinical pages, written through the API as the institutions' seeded EMR clients (client
/// credentials): residents, encounters, observations, conditions, up-referrals with their tasks.
/// </summary>
public sealed class ClinicalData(PagesFixture fixture)
{
    public const string Json = "application/fhir+json";

    /// <summary>An HTTP client of the running server acting as the seeded client (e.g. station-01-emr).</summary>
    public async Task<HttpClient> Emr(string client)
    {
        var http = new HttpClient { BaseAddress = new Uri(fixture.Root) };
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_id"] = client, ["client_secret"] = PagesFixture.Password(client),
            ["scope"] = "system/*.cruds",
        };
        using var response = await http.PostAsync("/auth/token", new FormUrlEncodedContent(form));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"token of {client}: {(int)response.StatusCode} {body}");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", JsonNode.Parse(body)!["access_token"]!.GetValue<string>());
        return http;
    }

    /// <summary>A client of the access log (system/AuditEvent.rs), registered for this test with the admin's token.</summary>
    public async Task<HttpClient> Auditor()
    {
        var id = "audit-" + Guid.NewGuid().ToString("N")[..8];
        var secret = "Audit-" + Guid.NewGuid().ToString("N");
        using var admin = fixture.CreateClient();
        using var registered = await admin.PostAsync("/admin/clients", new StringContent(
            $$$"""{"clientId":"{{{id}}}","type":"confidential","secret":"{{{secret}}}","scopes":"system/AuditEvent.rs"}""", Encoding.UTF8, "application/json"));
        Assert.True(registered.IsSuccessStatusCode, $"register {id}: {(int)registered.StatusCode} {await registered.Content.ReadAsStringAsync()}");
        var http = new HttpClient { BaseAddress = new Uri(fixture.Root) };
        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["client_id"] = id, ["client_secret"] = secret };
        using var response = await http.PostAsync("/auth/token", new FormUrlEncodedContent(form));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"token of {id}: {body}");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", JsonNode.Parse(body)!["access_token"]!.GetValue<string>());
        return http;
    }

    public static async Task<JsonObject> Post(HttpClient http, string path, string json)
    {
        using var response = await http.PostAsync("/fhir/" + path, new StringContent(json, Encoding.UTF8, Json));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    public static async Task<JsonObject> Get(HttpClient http, string path)
    {
        using var response = await http.GetAsync("/fhir/" + path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    /// <summary>A new resident registered by the station's EMR; their given name is unique to the test.</summary>
    public static async Task<(string Id, string Given)> Resident(HttpClient station, string family = "Testwang")
    {
        var given = "T" + Guid.NewGuid().ToString("N")[..10];
        var created = await Post(station, "Patient", $$$"""
            {"resourceType":"Patient","name":[{"family":"{{{family}}}","given":["{{{given}}}"]}],"gender":"female","birthDate":"1956-04-02",
             "identifier":[{"system":"urn:test:resident","value":"{{{given}}}"}]}
            """);
        return (created["id"]!.GetValue<string>(), given);
    }

    /// <summary>An up-referral (ServiceRequest and its task, in one transaction) from the station to the hospital; the task's id.</summary>
    public static async Task<string> ReferUp(HttpClient station, string patient, string from, string to, string priority = "urgent", string reason = "Blood pressure uncontrolled on two drugs")
    {
        var referral = "urn:uuid:" + Guid.NewGuid();
        var answer = await Post(station, "", $$$"""
            {"resourceType":"Bundle","type":"transaction","entry":[
             {"fullUrl":"{{{referral}}}","request":{"method":"POST","url":"ServiceRequest"},
              "resource":{"resourceType":"ServiceRequest","status":"active","intent":"order","priority":"{{{priority}}}",
              "extension":[{"url":"https://interop.example/fhir/StructureDefinition/referral-direction","valueCode":"up"}],
              "category":[{"coding":[{"system":"http://snomed.info/sct","code":"3457005"}]}],"subject":{"reference":"Patient/{{{patient}}}"},
              "requester":{"reference":"Organization/{{{from}}}"},"performer":[{"reference":"Organization/{{{to}}}"}],
              "reasonCode":[{"text":"{{{reason}}}"}]}},
             {"request":{"method":"POST","url":"Task"},"resource":{"resourceType":"Task","status":"requested","intent":"order",
              "priority":"{{{priority}}}","code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]},
              "basedOn":[{"reference":"{{{referral}}}"}],"for":{"reference":"Patient/{{{patient}}}"},
              "requester":{"reference":"Organization/{{{from}}}"},"owner":{"reference":"Organization/{{{to}}}"} } }]}
            """);
        var location = answer["entry"]![1]!["response"]!["location"]!.GetValue<string>();
        return Id(location, "Task");
    }

    /// <summary>
    /// No console errors, except the one Chromium logs for the page itself when it answers with the API's refusal status
    /// (the layout's refusal box is served with the API's 400/403/422), which the test has checked on the page.
    /// </summary>
    /// <summary>The id in a Location (relative or absolute, with or without _history).</summary>
    public static string Id(string location, string type)
    {
        var parts = location.Split('/');
        return parts[Array.LastIndexOf(parts, type) + 1];
    }

    /// <summary>The task's status as the API (the admin's client) reads it.</summary>
    public async Task<(string Status, JsonObject Task)> TaskState(string id)
    {
        using var admin = fixture.CreateClient();
        var task = await Get(admin, "Task/" + id);
        return (task["status"]!.GetValue<string>(), task);
    }
}
