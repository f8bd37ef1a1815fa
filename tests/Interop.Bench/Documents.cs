namespace Interop.Bench;

/// <summary>The four centre resources the CRUD cycle writes (and the raw baseline stores too).</summary>
public static class Documents
{
    // The episode (a family-doctor contract with station-7) comes before the care plan and the referral: it is the
    // care relationship that lets the station's system write them under the access policy.
    public static readonly string[] Types = ["Patient", "EpisodeOfCare", "CarePlan", "ServiceRequest"];

    public static string Json(string type, string? id = null, int variant = 0)
    {
        var idPart = id is null ? "" : $"\"id\":\"{id}\",";
        return type switch
        {
            "Patient" => $$$"""{"resourceType":"Patient",{{{idPart}}}"identifier":[{"system":"urn:oid:2.16.156.10011.1.1","value":"44030{{{variant:D8}}}"}],"active":true,"name":[{"family":"Wang","given":["Xiuying"]}],"telecom":[{"system":"phone","value":"+86 755 8{{{variant % 10000000:D7}}}"}],"gender":"female","birthDate":"1950-03-0{{{variant % 9 + 1}}}","address":[{"line":["Luohu District {{{variant % 100}}}"],"city":"Shenzhen","country":"CN"}]}""",
            "CarePlan" => $$$"""{"resourceType":"CarePlan",{{{idPart}}}"status":"active","intent":"plan","title":"Diabetes individual care plan {{{variant}}}","subject":{"reference":"Patient/p-{{{variant}}}"},"period":{"start":"2026-01-01"},"activity":[{"detail":{"status":"scheduled","description":"HbA1c every 3 months"}}]}""",
            "ServiceRequest" => $$$"""{"resourceType":"ServiceRequest",{{{idPart}}}"status":"active","intent":"order","priority":"urgent","category":[{"coding":[{"system":"urn:interop:referral","code":"up-referral"}]}],"subject":{"reference":"Patient/p-{{{variant}}}"},"requester":{"reference":"Practitioner/gp-1"},"performer":[{"reference":"Organization/hospital-1"}],"reasonCode":[{"text":"Poorly controlled hypertension"}]}""",
            "EpisodeOfCare" => $$$"""{"resourceType":"EpisodeOfCare",{{{idPart}}}"status":"active","type":[{"coding":[{"system":"urn:interop:episode","code":"family-doctor-contract"}]}],"patient":{"reference":"Patient/p-{{{variant}}}"},"managingOrganization":{"reference":"Organization/station-7"},"period":{"start":"2026-01-01","end":"2026-12-31"}}""",
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
    }
}
