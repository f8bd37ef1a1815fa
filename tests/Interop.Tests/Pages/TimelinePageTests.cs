using System.Text.Json.Nodes;

namespace Interop.Tests.Pages;

/// <summary>
/// /timeline: one resident's record across the station and the hospital, each entry labelled with the institution
/// that recorded it (checked against the API); the access policy's refusal; break the glass with a reason (and the
/// access log's record of it); no break-glass form for a GP without the role.
/// </summary>
[Collection(PagesCollection.Name)]
public sealed class TimelinePageTests(PagesFixture fixture)
{
    private const string Station = "station-01", Hospital = "hospital-1";
    private readonly ClinicalData _data = new(fixture);

    [Fact]
    public async Task A_hospital_doctor_sees_the_record_of_the_station_and_the_hospital_each_entry_with_its_institution()
    {
        var (patient, given, written) = await RecordAtTwoInstitutions();
        await using var tab = await Browse.Open(fixture);
        await tab.SignIn("/timeline?q=" + given, PagesFixture.HospitalDoctor(1));
        await tab.Page.ClickAsync($"#found a[href='/timeline/{patient}']");
        await tab.Page.WaitForSelectorAsync($"#record[data-patient='{patient}']");

        using var admin = fixture.CreateClient();
        foreach (var (reference, institution) in written)
        {
            var entry = tab.Page.Locator($"li.entry[data-ref='{reference}']");
            Assert.Equal(1, await entry.CountAsync());
            Assert.Equal(institution, await entry.GetAttributeAsync("data-institution"));
            var name = (await ClinicalData.Get(admin, institution))["name"]!.GetValue<string>();
            Assert.Equal(name, (await entry.Locator(".institution").InnerTextAsync()).Trim());
        }
        var shown = await tab.Page.Locator("li.entry").EvaluateAllAsync<string[]>("es => es.map(e => e.dataset.institution)");
        Assert.Contains("Organization/" + Station, shown);
        Assert.Contains("Organization/" + Hospital, shown);
        // Newest first: the hospital's encounter (November) before the station's (October).
        var order = await tab.Page.Locator("li.entry").EvaluateAllAsync<string[]>("es => es.map(e => e.dataset.ref)");
        Assert.True(Array.IndexOf(order, written[2].Reference) < Array.IndexOf(order, written[0].Reference), string.Join(",", order));
        Assert.Equal((await Everything(admin, patient)).ToString(), (await tab.Page.Locator("#entry-count").InnerTextAsync()).Trim());

        await tab.Screenshot("timeline");
        await tab.AssertAccessible();
        await tab.AssertKeyboardReaches("#group");
        await tab.Page.SelectOptionAsync("#group", "day");
        await tab.Page.ClickAsync("#grouping button");
        await tab.Page.WaitForSelectorAsync("li.period[data-period='2026-11-02']");
        tab.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task An_unrelated_hospital_doctor_is_refused_breaks_the_glass_with_a_reason_and_the_access_log_records_it()
    {
        var (patient, _, written) = await RecordAtTwoInstitutions();
        await using var tab = await Browse.Open(fixture);
        await tab.SignIn("/timeline/" + patient, PagesFixture.HospitalDoctor(3));
        Assert.Equal("403", await tab.Page.Locator("#refusal").GetAttributeAsync("data-status"));
        Assert.Equal(0, await tab.Page.Locator("#record").CountAsync());
        Assert.Equal(1, await tab.Page.Locator("form#break-glass").CountAsync());
        await tab.AssertKeyboardReaches("#reason");
        await tab.AssertAccessible();

        var reason = "Unconscious at the emergency department " + Guid.NewGuid().ToString("N")[..6];
        await tab.Page.FillAsync("#reason", reason);
        await tab.Page.ClickAsync("form#break-glass button[type=submit]");
        await tab.Page.WaitForSelectorAsync("#break-glass-notice");
        Assert.Contains(reason, await tab.Page.Locator("#break-glass-notice").InnerTextAsync());
        foreach (var (reference, institution) in written)
            Assert.Equal(institution, await tab.Page.Locator($"li.entry[data-ref='{reference}']").GetAttributeAsync("data-institution"));
        await tab.Screenshot("timeline-break-glass");
        await tab.AssertAccessible();
        tab.AssertNoConsoleErrorsBut(403);

        using var auditor = await _data.Auditor();
        var log = await ClinicalData.Get(auditor, $"AuditEvent?purpose=BTG&patient=Patient/{patient}&_count=50");
        var reasons = (log["entry"]?.AsArray() ?? []).SelectMany(e => e!["resource"]!["purposeOfEvent"]!.AsArray())
            .Select(p => p!["text"]?.GetValue<string>()).ToList();
        Assert.Contains(reason, reasons);
        var who = (log["entry"]![0]!["resource"]!["agent"]!.AsArray()).Select(a => a!.ToJsonString()).ToList();
        Assert.Contains(who, a => a.Contains(PagesFixture.HospitalDoctor(3)));
    }

    [Fact]
    public async Task A_gp_of_another_station_without_the_role_sees_the_refusal_and_no_break_glass_form_in_chinese()
    {
        var (patient, _, _) = await RecordAtTwoInstitutions();
        await using var tab = await Browse.Open(fixture, "zh-CN");
        await tab.SignIn("/timeline/" + patient, fixture.Directory.Teams.First(t => t.StationId == "station-02").GpId);
        Assert.Equal("403", await tab.Page.Locator("#refusal").GetAttributeAsync("data-status"));
        Assert.Equal(0, await tab.Page.Locator("#record").CountAsync());
        Assert.Equal(0, await tab.Page.Locator("form#break-glass").CountAsync());
        Assert.Contains("患者时间线", await tab.Page.Locator("h1").InnerTextAsync());
        await tab.Screenshot("timeline-zh-CN-refused");
        await tab.AssertAccessible();
        tab.AssertNoConsoleErrorsBut(403);
    }

    // A new resident with an encounter and a condition at the station, an up-referral to the hospital, an encounter and
    // an observation at the hospital; each written resource with the institution its content names.
    private async Task<(string Patient, string Given, (string Reference, string Institution)[] Written)> RecordAtTwoInstitutions()
    {
        using var station = await _data.Emr(Station + "-emr");
        using var hospital = await _data.Emr(Hospital + "-emr");
        var (patient, given) = await ClinicalData.Resident(station);
        var gp = fixture.Directory.Teams.First(t => t.StationId == Station).GpId;
        var visit = await ClinicalData.Post(station, "Encounter", $$$"""
            {"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
             "type":[{"text":"GP consultation"}],"subject":{"reference":"Patient/{{{patient}}}"},
             "period":{"start":"2026-10-01T09:00:00+08:00","end":"2026-10-01T09:20:00+08:00"},"serviceProvider":{"reference":"Organization/{{{Station}}}"}}
            """);
        var condition = await ClinicalData.Post(station, "Condition", $$$"""
            {"resourceType":"Condition","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
             "code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003","display":"Hypertension"}]},
             "subject":{"reference":"Patient/{{{patient}}}"},"recordedDate":"2026-10-01T09:15:00+08:00","recorder":{"reference":"Practitioner/{{{gp}}}"}}
            """);
        await ClinicalData.ReferUp(station, patient, Station, Hospital);
        var outpatient = await ClinicalData.Post(hospital, "Encounter", $$$"""
            {"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
             "type":[{"text":"Cardiology outpatient"}],"subject":{"reference":"Patient/{{{patient}}}"},
             "period":{"start":"2026-11-02T10:00:00+08:00","end":"2026-11-02T10:40:00+08:00"},"serviceProvider":{"reference":"Organization/{{{Hospital}}}"}}
            """);
        var observation = await ClinicalData.Post(hospital, "Observation", $$$"""
            {"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"Hemoglobin A1c"}]},
             "subject":{"reference":"Patient/{{{patient}}}"},"effectiveDateTime":"2026-11-02T10:30:00+08:00",
             "valueQuantity":{"value":7.1,"unit":"%","system":"http://unitsofmeasure.org","code":"%"},"performer":[{"reference":"Organization/{{{Hospital}}}"}]}
            """);
        string Ref(JsonObject r) => r["resourceType"]!.GetValue<string>() + "/" + r["id"]!.GetValue<string>();
        return (patient, given, [
            (Ref(visit), "Organization/" + Station), (Ref(condition), "Organization/" + Station),
            (Ref(outpatient), "Organization/" + Hospital), (Ref(observation), "Organization/" + Hospital),
        ]);
    }

    // What the timeline should hold, from the API: the resident's encounters, conditions, referrals, care plans, observations.
    private static async Task<int> Everything(HttpClient admin, string patient)
    {
        var total = 0;
        foreach (var type in new[] { "Encounter", "Condition", "ServiceRequest", "CarePlan", "Observation" })
            total += (await ClinicalData.Get(admin, $"{type}?subject=Patient/{patient}&_count=200"))["entry"]?.AsArray().Count ?? 0;
        return total;
    }
}
