using System.Net;
using System.Text.Json.Nodes;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Validation;

/// <summary>
/// The group's implementation guide (profiles/): every example is stored and validates; for every rule of every
/// profile, an example that breaks only that rule is refused with 422 and an issue that names the rule and where.
/// </summary>
public sealed class ProfileTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    public static string Examples
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Interop.sln"))) return Path.Combine(dir.FullName, "profiles", "examples");
            throw new InvalidOperationException("Interop.sln not found");
        }
    }

    public static JsonObject Example(string name) => JsonNode.Parse(File.ReadAllText(Path.Combine(Examples, name + ".json")))!.AsObject();

    /// <summary>The examples in an order that stores what is referred to first.</summary>
    public static IEnumerable<string> InOrder() =>
        Directory.GetFiles(Examples, "*.json").Select(Path.GetFileNameWithoutExtension).OfType<string>()
            .OrderBy(n => Array.FindIndex(["Organization-example-group", "Organization-example-hospital", "Organization", "Practitioner-", "PractitionerRole", "Patient", "Condition", "CareTeam"], p => n.StartsWith(p)) is var i and >= 0 ? i : 99)
            .ThenBy(n => n, StringComparer.Ordinal);

    private static readonly SemaphoreSlim Storing = new(1, 1);
    private static bool _stored; // one fixture (database) per test run of this class

    // Every example, stored by its id (the referral task's rules want its referral, the contract's its team).
    private async Task StoreExamples()
    {
        await Storing.WaitAsync();
        try
        {
            if (_stored) return;
            foreach (var name in InOrder())
            {
                var json = Example(name);
                var put = await server.CreateClient().PutAsync($"/fhir/{json["resourceType"]}/{json["id"]}", FhirTest.Body(json.ToJsonString()));
                Assert.True(put.IsSuccessStatusCode, $"{name}: {put.StatusCode} {await put.Content.ReadAsStringAsync()}");
            }
            _stored = true;
        }
        finally { Storing.Release(); }
    }

    [Fact]
    public async Task Every_example_is_stored_and_validates_against_its_profile()
    {
        var client = server.CreateClient();
        var names = InOrder().ToList();
        Assert.True(names.Count >= 9, "one example per profile at least");
        await StoreExamples();
        foreach (var name in names)
        {
            var json = Example(name);
            var (type, id) = (json["resourceType"]!.GetValue<string>(), json["id"]!.GetValue<string>());
            var put = await client.PutAsync($"/fhir/{type}/{id}", FhirTest.Body(json.ToJsonString()));
            Assert.True(put.IsSuccessStatusCode, $"{name}: {put.StatusCode} {await put.Content.ReadAsStringAsync()}");
            var check = await (await client.PostAsync($"/fhir/{type}/$validate", FhirTest.Body(json.ToJsonString()))).ReadJson();
            Assert.DoesNotContain(check["issue"]!.AsArray(), i => i!["severity"]!.GetValue<string>() is "error" or "fatal");
        }
        var profiles = names.Select(Example).SelectMany(e => e["meta"]?["profile"]?.AsArray().Select(p => p!.GetValue<string>()) ?? []).Distinct().Count();
        Assert.Equal(9, profiles); // every profile of the guide has an example
    }

    public static TheoryData<string, string, string, string> Rules => new()
    {
        // example, the one rule broken (JSON edit below), what the issue must say, where
        { "Patient-example-patient", "no resident id", "residentId", "Patient" },
        { "Patient-example-patient", "no gender", "gender", "Patient" },
        { "Patient-example-patient", "no birthDate", "birthDate", "Patient" },
        { "EpisodeOfCare-example-family-doctor-contract", "two years", "fdc-1", "EpisodeOfCare" },
        { "EpisodeOfCare-example-family-doctor-contract", "no careManager", "careManager", "EpisodeOfCare" },
        { "EpisodeOfCare-example-family-doctor-contract", "no team", "team", "EpisodeOfCare" },
        { "EpisodeOfCare-example-family-doctor-contract", "no managingOrganization", "managingOrganization", "EpisodeOfCare" },
        { "EpisodeOfCare-example-case-management", "no chronic condition", "chronicCondition", "EpisodeOfCare" },
        { "EpisodeOfCare-example-case-management", "a condition outside the value set", "chronic-conditions", "EpisodeOfCare.extension" },
        { "EpisodeOfCare-example-case-management", "no diagnosis", "diagnosis", "EpisodeOfCare" },
        { "ServiceRequest-example-referral", "no direction", "referralDirection", "ServiceRequest" },
        { "ServiceRequest-example-referral", "direction sideways", "referral-direction", "ServiceRequest.extension" },
        { "ServiceRequest-example-referral", "up without priority", "ref-2", "ServiceRequest" },
        { "ServiceRequest-example-referral", "no reason", "ref-3", "ServiceRequest" },
        { "ServiceRequest-example-referral", "not a referral category", "ref-1", "ServiceRequest" },
        { "ServiceRequest-example-referral", "no requester", "requester", "ServiceRequest" },
        { "ServiceRequest-example-referral", "no performer", "performer", "ServiceRequest" },
        { "ServiceRequest-example-referral", "a group as subject", "may refer only to Patient", "ServiceRequest.subject" },
        { "Task-example-referral-task", "no basedOn", "basedOn", "Task" },
        { "Task-example-referral-task", "not fulfil", "code", "Task.code" },
        { "Task-example-referral-task", "no owner", "owner", "Task" },
        { "CarePlan-example-care-plan", "no addresses", "addresses", "CarePlan" },
        { "CarePlan-example-care-plan", "no activity", "activity", "CarePlan" },
        { "CarePlan-example-care-plan", "no careTeam", "careTeam", "CarePlan" },
        { "CarePlan-example-care-plan", "no period", "period", "CarePlan" },
        { "CareTeam-example-team", "no nurse", "fdt-2", "CareTeam" },
        { "CareTeam-example-team", "two leaders", "fdt-1", "CareTeam" },
        { "CareTeam-example-team", "no managingOrganization", "managingOrganization", "CareTeam" },
        { "Organization-example-station", "not part of anything", "gorg-1", "Organization" },
        { "Organization-example-station", "an unknown kind", "institution-kind", "Organization.type" },
        { "PractitionerRole-example-gp-role", "no organization", "organization", "PractitionerRole" },
        { "PractitionerRole-example-gp-role", "no code", "code", "PractitionerRole" },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public async Task A_resource_that_breaks_one_rule_is_refused_naming_it(string example, string broken, string says, string at)
    {
        var json = Example(example);
        json.Remove("id");
        Break(json, broken);
        var type = json["resourceType"]!.GetValue<string>();
        var response = await server.CreateClient().PostAsync($"/fhir/{type}", FhirTest.Body(json.ToJsonString()));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, $"{broken}: {response.StatusCode} {body}");
        var issues = (await response.ReadJson())["issue"]!.AsArray().Where(i => i!["severity"]!.GetValue<string>() == "error").ToList();
        Assert.Contains(issues, i => i!["diagnostics"]!.GetValue<string>().Contains(says, StringComparison.OrdinalIgnoreCase)
                                     && (i["expression"]?[0]?.GetValue<string>() ?? "").StartsWith(at, StringComparison.Ordinal));
        // The same resource, unbroken, is stored: only that rule made the difference. (What it refers to is stored
        // first, for the workflow rules; episodes are stored as finished, since the example resident has active ones:
        // one active contract, or episode per condition, per resident is the workflow tests' matter.)
        await StoreExamples();
        var whole = Example(example);
        whole.Remove("id");
        if (example.StartsWith("EpisodeOfCare-", StringComparison.Ordinal)) whole["status"] = "finished";
        Assert.Equal(HttpStatusCode.Created, (await server.CreateClient().PostAsync($"/fhir/{type}", FhirTest.Body(whole.ToJsonString()))).StatusCode);
    }

    private static void Break(JsonObject r, string how)
    {
        JsonArray Array(string name) => r[name]!.AsArray();
        switch (how)
        {
            case "no resident id": r["identifier"] = new JsonArray(Array("identifier").Where(i => !i!["system"]!.GetValue<string>().EndsWith("resident-id")).Select(i => i!.DeepClone()).ToArray()); break;
            case "two years": r["period"]!["end"] = "2026-12-31"; break;
            case "a condition outside the value set":
                r["extension"]![0]!["valueCodeableConcept"] = JsonNode.Parse("""{"coding":[{"system":"http://snomed.info/sct","code":"22298006","display":"Myocardial infarction"}]}"""); break;
            case "no chronic condition": r.Remove("extension"); break;
            case "no direction": r.Remove("extension"); break;
            case "direction sideways": r["extension"]![0]!["valueCode"] = "sideways"; break;
            case "up without priority": r.Remove("priority"); break;
            case "no reason": r.Remove("reasonCode"); r.Remove("reasonReference"); break;
            case "not a referral category": r["category"] = JsonNode.Parse("""[{"coding":[{"system":"http://snomed.info/sct","code":"108252007","display":"Laboratory procedure"}]}]"""); break;
            case "not fulfil": r["code"] = JsonNode.Parse("""{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"approve"}]}"""); break;
            case "no nurse": Role(r, "nurse", "pharmacist"); break;
            case "two leaders": Role(r, "nurse", "gp-leader"); break;
            case "not part of anything": r.Remove("partOf"); break;
            case "a group as subject": r["subject"] = JsonNode.Parse("""{"reference":"Group/example-group"}"""); break;
            case "an unknown kind": r["type"] = JsonNode.Parse("""[{"coding":[{"system":"https://interop.example/fhir/CodeSystem/institution-kind","code":"pharmacy"}]}]"""); break;
            default:
                var element = how.StartsWith("no ") ? how[3..] : throw new ArgumentException(how);
                Assert.True(r.Remove(element), $"{element} is in the example");
                break;
        }
    }

    // Changes the team role of the participant that has role `from`.
    private static void Role(JsonObject team, string from, string to)
    {
        foreach (var p in team["participant"]!.AsArray())
            foreach (var coding in p!["role"]!.AsArray().SelectMany(c => c!["coding"]!.AsArray()))
                if (coding!["code"]!.GetValue<string>() == from) { coding["code"] = to; coding.AsObject().Remove("display"); return; }
        throw new ArgumentException($"no participant with role {from}");
    }
}
