using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Interop.Tests.Auth;
using Interop.Server.Seed;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Pages;

/// <summary>
/// What a resident app test needs on one seeded resident, written through the API as the institutions that would
/// write it: the station's EMR (contract when none is active, care plan, observations, an up-referral), the
/// hospital's EMR (accepts one referral), and a GP of the station who reads the record (so the access log has a
/// person in it).
/// </summary>
public sealed class ResidentAppData(PagesFixture fixture, string residentId)
{
    public const string Json = "application/fhir+json";
    public string ResidentId => residentId;
    public string Patient => "Patient/" + residentId;
    public string Tag { get; } = Guid.NewGuid().ToString("N")[..6];
    public string StationId { get; private set; } = "";
    public string HospitalId { get; private set; } = "";
    public Team Team { get; private set; } = null!;
    public HttpClient Admin { get; } = fixture.CreateClient();
    public HttpClient Station { get; private set; } = null!;
    public HttpClient Hospital { get; private set; } = null!;
    public (int Sys, int Dia)[] BloodPressure { get; } = [(151, 93), (143, 88), (136, 84)];
    public decimal[] HbA1c { get; } = [7.9m, 7.4m, 6.9m];
    public string AcceptedReferral { get; private set; } = "";
    public string OpenReferral { get; private set; } = "";

    public static DateOnly Today => DateOnly.FromDateTime(DateTime.UtcNow.AddHours(8));

    /// <summary>The resident's station, its hospital and their EMR clients; a contract when none is active.</summary>
    public async Task<ResidentAppData> Connect()
    {
        var patient = await (await Admin.GetAsync($"/fhir/{Patient}")).ReadJson();
        StationId = ((string)patient["managingOrganization"]!["reference"]!)["Organization/".Length..];
        HospitalId = Institutions.HospitalOf(int.Parse(StationId[^2..]));
        Team = fixture.Directory.Teams.First(t => t.StationId == StationId);
        Station = await Emr(StationId);
        Hospital = await Emr(HospitalId);
        await Contract();
        return this;
    }

    /// <summary>Everything the record's sections show: observations, a care plan, two referrals (one accepted by the hospital).</summary>
    public async Task<ResidentAppData> Build()
    {
        await Connect();
        await Observations();
        await CarePlan();
        AcceptedReferral = await Referral("Knee pain on stairs " + Tag, "accepted");
        OpenReferral = await Referral("Palpitations at night " + Tag, null);
        return this;
    }

    /// <summary>An institution's EMR client (client credentials, as seeded).</summary>
    public async Task<HttpClient> Emr(string institution) =>
        Bearer(await Token(new() { ["grant_type"] = "client_credentials", ["client_id"] = $"{institution}-emr", ["client_secret"] = PagesFixture.Password($"{institution}-emr") }));

    public HttpClient Bearer(string token)
    {
        var http = new HttpClient { BaseAddress = new Uri(fixture.Root) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private async Task<string> Token(Dictionary<string, string> form)
    {
        using var http = new HttpClient { BaseAddress = new Uri(fixture.Root) };
        var response = await http.PostAsync("/auth/token", new FormUrlEncodedContent(form));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return (string)JsonNode.Parse(body)!["access_token"]!;
    }

    private async Task<JsonObject> Post(HttpClient client, string path, string json)
    {
        var response = await client.PostAsync(path.Length == 0 ? "/fhir" : "/fhir/" + path, FhirTest.Body(json, Json));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    private async Task Contract()
    {
        var active = await (await Admin.GetAsync($"/fhir/EpisodeOfCare?patient={Patient}&status=active&type=https://interop.example/fhir/CodeSystem/episode-type|family-doctor-contract")).ReadJson();
        if (active["entry"] is JsonArray { Count: > 0 }) return;
        await Post(Station, "EpisodeOfCare", $$"""
            {"resourceType":"EpisodeOfCare","status":"active",
             "type":[{"coding":[{"system":"https://interop.example/fhir/CodeSystem/episode-type","code":"family-doctor-contract"}]}],
             "patient":{"reference":"{{Patient}}"},"managingOrganization":{"reference":"Organization/{{StationId}}"},
             "careManager":{"reference":"Practitioner/{{Team.GpId}}"},"team":[{"reference":"CareTeam/{{Team.Id}}"}],
             "period":{"start":"{{Today:yyyy-MM-dd}}","end":"{{Today.AddDays(364):yyyy-MM-dd}}"} }
            """);
    }

    private async Task Observations()
    {
        for (var i = 0; i < BloodPressure.Length; i++)
        {
            await AddBloodPressure(BloodPressure[i].Sys, BloodPressure[i].Dia, Today.AddDays(-70 + 30 * i));
            await Post(Station, "Observation", $$"""
                {"resourceType":"Observation","status":"final",
                 "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
                 "code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"Hemoglobin A1c/Hemoglobin.total in Blood"}]},
                 "subject":{"reference":"{{Patient}}"},"effectiveDateTime":"{{Today.AddDays(-69 + 30 * i):yyyy-MM-dd}}T10:00:00+08:00",
                 "valueQuantity":{{Quantity(HbA1c[i], "%", "%")}} }
                """);
        }
    }

    private static string Quantity(decimal value, string unit, string code) =>
        $$"""{"value":{{value.ToString(System.Globalization.CultureInfo.InvariantCulture)}},"unit":"{{unit}}","system":"http://unitsofmeasure.org","code":"{{code}}"}""";

    /// <summary>A blood pressure panel (85354-9) with its systolic and diastolic components, written by the station.</summary>
    public async Task AddBloodPressure(int sys, int dia, DateOnly on) => await Post(Station, "Observation", $$"""
        {"resourceType":"Observation","status":"final",
         "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
         "code":{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel"}]},
         "subject":{"reference":"{{Patient}}"},"effectiveDateTime":"{{on:yyyy-MM-dd}}T09:00:00+08:00",
         "component":[
          {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{{Quantity(sys, "mmHg", "mm[Hg]")}} },
          {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{{Quantity(dia, "mmHg", "mm[Hg]")}} }]}
        """);

    private async Task CarePlan() => await Post(Station, "CarePlan", $$"""
        {"resourceType":"CarePlan","status":"active","intent":"plan","title":"Blood pressure plan {{Tag}}",
         "subject":{"reference":"{{Patient}}"},"period":{"start":"{{Today:yyyy-MM-dd}}"},
         "activity":[
          {"detail":{"kind":"Appointment","code":{"text":"Follow-up visit {{Tag}}"},"status":"scheduled","scheduledTiming":{"event":["{{Today.AddDays(20):yyyy-MM-dd}}"]} } },
          {"detail":{"kind":"ServiceRequest","code":{"text":"HbA1c test {{Tag}}"},"status":"not-started","scheduledTiming":{"event":["{{Today.AddDays(45):yyyy-MM-dd}}"]} } },
          {"detail":{"kind":"CommunicationRequest","code":{"text":"Salt education {{Tag}}"},"status":"completed","scheduledTiming":{"event":["{{Today.AddDays(-5):yyyy-MM-dd}}"]} } }]}
        """);

    /// <summary>An up-referral (ServiceRequest and its Task in one transaction) from the station; the hospital moves the task to <paramref name="to"/>.</summary>
    private async Task<string> Referral(string reason, string? to)
    {
        var urn = "urn:uuid:" + Guid.NewGuid();
        var bundle = await Post(Station, "", $$"""
            {"resourceType":"Bundle","type":"transaction","entry":[
             {"fullUrl":"{{urn}}","request":{"method":"POST","url":"ServiceRequest"},
              "resource":{"resourceType":"ServiceRequest","status":"active","intent":"order","priority":"urgent",
               "extension":[{"url":"https://interop.example/fhir/StructureDefinition/referral-direction","valueCode":"up"}],
               "category":[{"coding":[{"system":"http://snomed.info/sct","code":"3457005"}]}],"subject":{"reference":"{{Patient}}"},
               "authoredOn":"{{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ}}",
               "requester":{"reference":"Practitioner/{{Team.GpId}}"},"performer":[{"reference":"Organization/{{HospitalId}}"}],
               "reasonCode":[{"text":"{{reason}}"}]} },
             {"request":{"method":"POST","url":"Task"},"resource":{"resourceType":"Task","status":"requested","intent":"order",
              "priority":"urgent","code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]},
              "basedOn":[{"reference":"{{urn}}"}],"for":{"reference":"{{Patient}}"},
              "requester":{"reference":"Organization/{{StationId}}"},"owner":{"reference":"Organization/{{HospitalId}}"} } }]}
            """);
        var locations = bundle["entry"]!.AsArray().Select(e => (string)e!["response"]!["location"]!).ToList();
        string Id(string type) => locations.Select(l => Regex.Match(l, $"(?:^|/){type}/([^/]+)")).First(m => m.Success).Groups[1].Value;
        var (request, task) = (Id("ServiceRequest"), Id("Task"));
        if (to is not null)
        {
            var patch = new StringContent($$"""[{"op":"replace","path":"/status","value":"{{to}}"}]""", System.Text.Encoding.UTF8, "application/json-patch+json");
            var moved = await Hospital.PatchAsync($"/fhir/Task/{task}", patch);
            Assert.True(moved.IsSuccessStatusCode, await moved.Content.ReadAsStringAsync());
        }
        return request;
    }

    /// <summary>
    /// A GP of the resident's station reads their record through the API (a user token: the standalone launch of a
    /// staff tool registered for the test), so the access log has a person at an institution.
    /// </summary>
    public async Task GpReads()
    {
        var client = "gp-tool-" + Tag;
        const string redirect = "https://tool.example/cb";
        var registered = await Admin.PostAsync("/admin/clients", new StringContent(System.Text.Json.JsonSerializer.Serialize(new
            { clientId = client, type = "public", redirectUris = new[] { redirect }, scopes = "openid fhirUser user/*.rs" }), System.Text.Encoding.UTF8, "application/json"));
        Assert.True(registered.StatusCode == HttpStatusCode.Created, await registered.Content.ReadAsStringAsync());
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(fixture.Root) };
        var (verifier, challenge) = AuthFixture.Pkce();
        var login = await (await browser.GetAsync(AuthFixture.AuthorizeUrl(client, "openid fhirUser user/*.rs", challenge, redirect: redirect, aud: fixture.Root + "/fhir")))
            .Content.ReadAsStringAsync();
        var consent = await (await AuthFixture.Submit(browser, login, -1, ("username", Team.GpId), ("password", PagesFixture.Password(Team.GpId)))).Content.ReadAsStringAsync();
        var back = await AuthFixture.Submit(browser, consent, -1, ("decision", "approve"));
        var code = Regex.Match(back.Headers.Location!.Query, "code=([^&]+)").Groups[1].Value;
        var gp = Bearer(await Token(new() { ["grant_type"] = "authorization_code", ["client_id"] = client, ["code"] = Uri.UnescapeDataString(code),
            ["redirect_uri"] = redirect, ["code_verifier"] = verifier }));
        Assert.Equal(HttpStatusCode.OK, (await gp.GetAsync($"/fhir/{Patient}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gp.GetAsync($"/fhir/Observation?patient={Patient}&code=http://loinc.org|85354-9")).StatusCode);
    }
}
