using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Pages;

/// <summary>
/// The auditor console: accesses made through the API (a station's EMR reads its resident many times, a hospital's
/// emergency physician breaks the glass) are what auditor-1 finds filtering by resident, break-glass and date —
/// exactly the API's AuditEvent search, paged; the resident's access report; the chains verified; the export; a GP is refused.
/// </summary>
[Collection(PagesCollection.Name)]
public sealed class AuditPageTests(PagesFixture fixture)
{
    [Fact]
    public async System.Threading.Tasks.Task The_auditor_finds_the_accesses_to_a_resident_the_break_glass_and_the_chains()
    {
        var reason = "unconscious in the emergency room " + Guid.NewGuid().ToString("N")[..6];
        var station = await PageTokens.Client(fixture, "station-01-emr", PagesFixture.Password("station-01-emr"));
        var patient = await station.CreateId(new Patient { Name = [new HumanName { Family = "Audited" }], ManagingOrganization = new ResourceReference("Organization/station-01") });
        for (var i = 0; i < 55; i++) Assert.Equal(HttpStatusCode.OK, (await station.GetAsync($"/fhir/Patient/{patient}")).StatusCode);
        using var doctor = await PageTokens.User(fixture, PagesFixture.HospitalDoctor(1));
        Assert.Equal(HttpStatusCode.Forbidden, (await doctor.GetAsync($"/fhir/Patient/{patient}")).StatusCode); // no care relationship
        using var glass = new HttpRequestMessage(HttpMethod.Get, $"/fhir/Patient/{patient}");
        glass.Headers.Add("X-Break-Glass", reason);
        Assert.Equal(HttpStatusCode.OK, (await doctor.SendAsync(glass)).StatusCode);
        using var auditor = await PageTokens.NewClient(fixture, "system/AuditEvent.rs");
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        await using var tab = await Browse.Open(fixture);
        await tab.SignIn("/audit", "auditor-1");
        Assert.True(await tab.Page.Locator("#entries").CountAsync() == 1, await tab.Page.ContentAsync());
        await tab.Page.FillAsync("#patient", patient);
        await tab.Page.FillAsync("#from", today);
        await tab.Page.FillAsync("#to", today);
        await tab.Page.ClickAsync("#search");
        await tab.Page.WaitForURLAsync(u => u.Contains("patient=" + patient));
        Assert.True(await tab.Page.Locator("#refusal").CountAsync() == 0, await tab.Page.Locator("main").InnerTextAsync());

        // by resident and date: the API's search, over two pages (50 a page)
        var expected = await Ids(auditor, $"patient=Patient/{patient}&date=ge{today}&date=le{today}");
        Assert.True(expected.Count >= 58, $"{expected.Count} records"); // create, 55 reads, a refusal, the break-glass read
        Assert.Equal(expected.Count.ToString(CultureInfo.InvariantCulture), await tab.Page.GetAttributeAsync("#total", "data-total"));
        var shown = await RowIds(tab);
        Assert.Equal(50, shown.Count);
        await tab.Page.ClickAsync("#next-page");
        await tab.Page.WaitForURLAsync(u => u.Contains("cursor="));
        shown.AddRange(await RowIds(tab));
        Assert.Equal(expected, shown);
        await tab.Screenshot("audit");

        // break-glass only: exactly the doctor's read, with the reason
        await tab.Page.GotoAsync($"/audit?patient={patient}&from={today}&to={today}&breakglass=true");
        var btg = await RowIds(tab);
        Assert.Equal(await Ids(auditor, $"patient=Patient/{patient}&purpose=BTG&date=ge{today}&date=le{today}"), btg);
        var only = Assert.Single(btg);
        var row = await tab.Page.Locator($"#entries tr[data-id='{only}']").InnerTextAsync();
        Assert.Contains(reason, row);
        Assert.Contains(PagesFixture.HospitalDoctor(1), row);
        Assert.Contains("Organization/hospital-1", row);

        // the resident's access report: who, from which institution, why
        var report = await tab.Page.Locator("#report-lines").InnerTextAsync();
        Assert.Contains("Organization/station-01", report);
        Assert.Contains("station-01-emr", report);
        Assert.Contains("Organization/hospital-1", report);
        Assert.Contains(reason, report);

        // the chains: verified, today among the days
        Assert.Equal("true", await tab.Page.GetAttributeAsync("#chain-status", "data-intact"));
        Assert.Equal("intact", await tab.Page.GetAttributeAsync($"#chain-days tr[data-day='{today}']", "data-result"));

        // the export: the same records as the search shown (CSV) and as FHIR (NDJSON)
        var csv = await tab.Page.APIRequest.GetAsync((await tab.Page.GetAttributeAsync("#export-csv", "href"))!);
        Assert.StartsWith("text/csv", csv.Headers["content-type"]);
        var lines = (await csv.TextAsync()).TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("id,recorded,", lines[0]);
        Assert.Equal(btg, lines[1..].Select(l => l.Split(',')[0]).ToList());
        Assert.Contains(reason, lines[1]);
        var ndjson = await tab.Page.APIRequest.GetAsync((await tab.Page.GetAttributeAsync("#export-ndjson", "href"))!);
        var records = (await ndjson.TextAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(btg, records.Select(r => r["id"]!.GetValue<string>()).ToList());

        // a day without these accesses: nothing, like the API
        var yesterday = DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await tab.Page.GotoAsync($"/audit?patient={patient}&from={yesterday}&to={yesterday}");
        Assert.Empty(await RowIds(tab));
        Assert.Empty(await Ids(auditor, $"patient=Patient/{patient}&date=ge{yesterday}&date=le{yesterday}"));

        await tab.AssertKeyboardReaches("#search");
        await tab.AssertAccessible();
        tab.AssertNoConsoleErrors();
    }

    [Fact]
    public async System.Threading.Tasks.Task A_gp_sees_the_refusal_not_the_log_and_the_console_speaks_chinese()
    {
        await using var gp = await Browse.Open(fixture);
        await gp.SignIn("/audit", fixture.Directory.Teams[0].GpId);
        Assert.Equal("403", await gp.Page.GetAttributeAsync("#refusal", "data-status"));
        Assert.Contains("auditor", await gp.Page.Locator("#refusal").InnerTextAsync());
        Assert.Equal(0, await gp.Page.Locator("#entries").CountAsync());
        Assert.Equal(0, await gp.Page.Locator("#chain-days").CountAsync());
        var export = await gp.Page.APIRequest.GetAsync("/audit?handler=export");
        Assert.Equal(403, export.Status);
        Assert.DoesNotContain("id,recorded", await export.TextAsync());
        gp.AssertNoConsoleErrorsBut(403);

        await using var zh = await Browse.Open(fixture, "zh-CN", phone: true);
        await zh.SignIn("/audit?breakglass=true", "auditor-1");
        Assert.Equal("审计控制台", await zh.Page.Locator("h1").InnerTextAsync());
        Assert.Equal(0, await zh.Page.Locator("#refusal").CountAsync());
        await zh.Screenshot("audit-zh");
        await zh.AssertAccessible();
        var bad = await zh.Page.GotoAsync("/audit?from=2026-02-30");
        Assert.Equal(400, bad!.Status);
        Assert.Equal(1, await zh.Page.Locator("#invalid").CountAsync());
        zh.AssertNoConsoleErrorsBut(400);
    }

    private static async Task<List<string>> RowIds(Browse tab) =>
        [.. await tab.Page.Locator("#entries tbody tr[data-id]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.id)")];

    // Every id the API's AuditEvent search finds, newest first, following its next links.
    private static async Task<List<string>> Ids(HttpClient auditor, string query)
    {
        var ids = new List<string>();
        string? next = $"/fhir/AuditEvent?{query}&_sort=-date&_count=1000";
        while (next is not null)
        {
            var response = await auditor.GetAsync(next);
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            var bundle = await response.ReadJson();
            ids.AddRange((bundle["entry"]?.AsArray() ?? []).Select(e => e!["resource"]!["id"]!.GetValue<string>()));
            next = bundle["link"]?.AsArray().FirstOrDefault(l => l!["relation"]!.GetValue<string>() == "next")?["url"]?.GetValue<string>();
        }
        return ids;
    }
}
