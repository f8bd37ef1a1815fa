using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Interop.Tests.Pages;

/// <summary>
/// The indicator dashboard: the information centre (analyst-1) changes the period and reporter; every number shown
/// equals $evaluate-measure through the API; the drill-down lists the residents the API's subject-list names; the CSV
/// is the tables; a resident and a GP asking for more than their own institution see the API's refusal.
/// </summary>
[Collection(PagesCollection.Name)]
public sealed class IndicatorPageTests(PagesFixture fixture, ITestOutputHelper output)
{
    private const string From = "2026-01", To = "2026-06", Reporter = "Organization/hospital-1";

    [Fact]
    public async System.Threading.Tasks.Task The_analyst_changes_the_period_and_sees_the_apis_numbers_drills_down_and_downloads_them()
    {
        // An institution whose name a spreadsheet would run as a formula, with a resident and an encounter in the period.
        using var admin = fixture.CreateClient();
        var org = await admin.CreateId(new Organization
        {
            Name = "=HYPERLINK(\"x\"),1", Type = [new CodeableConcept("https://interop.example/fhir/CodeSystem/institution-kind", "station")],
            Identifier = [new Identifier("https://interop.example/fhir/sid/institution-code", Guid.NewGuid().ToString("N")[..8])],
            PartOf = new ResourceReference("Organization/hospital-1"),
        });
        var station = await PageTokens.Client(fixture, "station-01-emr", PagesFixture.Password("station-01-emr"));
        var patient = await station.CreateId(new Patient { Name = [new HumanName { Family = "Dashboard", Given = ["Test"] }], ManagingOrganization = new ResourceReference($"Organization/{org}") });
        await station.CreateId(new Encounter
        {
            Status = Encounter.EncounterStatus.Finished, Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"),
            Subject = new ResourceReference($"Patient/{patient}"), ServiceProvider = new ResourceReference("Organization/station-01"),
            Period = new Period { Start = "2026-03-10T09:00:00Z", End = "2026-03-10T09:30:00Z" },
        });

        await using var tab = await Browse.Open(fixture);
        var clock = Stopwatch.StartNew();
        await tab.SignIn("/indicators", "analyst-1");
        await tab.Page.WaitForSelectorAsync("#cost");
        output.WriteLine($"default period (12 months, whole group): page {clock.ElapsedMilliseconds} ms with sign-in; " +
                         $"{await tab.Page.GetAttributeAsync("#cost", "data-calls")} API calls in {await tab.Page.GetAttributeAsync("#cost", "data-ms")} ms");
        Assert.Equal(8, await tab.Page.Locator("article.series").CountAsync());
        await tab.Screenshot("indicators");

        // change the period and the reporter with the form (GET: the address is shareable)
        await tab.Page.FillAsync("#from", From);
        await tab.Page.FillAsync("#to", To);
        await tab.Page.SelectOptionAsync("#reporter", Reporter);
        await tab.Page.ClickAsync("#show");
        await tab.Page.WaitForURLAsync(u => u.Contains("from=2026-01") && u.Contains("to=2026-06"));
        Assert.Contains("reporter=Organization%2Fhospital-1", tab.Page.Url);

        // every table cell equals the API's report: per month (one evaluation per month) and per institution (the period's strata)
        foreach (var indicator in new[] { "contracted-share", "care-inside-group", "case-management", "referrals", "high-risk-care-plan" })
        {
            var whole = await Evaluate(admin, indicator, From, To);
            foreach (var series in await tab.Page.Locator($"article.series[data-series^='{indicator}/']").AllAsync())
            {
                var group = (await series.GetAttributeAsync("data-series"))!.Split('/')[1];
                var byInstitution = await Cells(series.Locator("table.by-institution"));
                var expected = Strata(Group(whole, group));
                Assert.Equal(expected.Keys.Order(), byInstitution.Keys.Order());
                foreach (var (key, cells) in byInstitution) AssertCells(expected[key], cells, $"{indicator}/{group} {key}");
                var byMonth = await Cells(series.Locator("table.by-month"));
                Assert.Equal(6, byMonth.Count);
                foreach (var (month, cells) in byMonth)
                    AssertCells(Group(await Evaluate(admin, indicator, month, month), group), cells, $"{indicator}/{group} {month}");
            }
        }
        // the new institution's resident is in its stratum, under its name
        var care = tab.Page.Locator("article.series[data-series='care-inside-group/inside'] table.by-institution");
        Assert.Contains("=HYPERLINK", await care.Locator($"tr[data-key='Organization/{org}'] th").InnerTextAsync());

        // drill-down: the denominator of the new institution's stratum lists its resident (the API's subject-list)
        await care.Locator($"tr[data-key='Organization/{org}'] td[data-name=denominator] a").ClickAsync();
        await tab.Page.WaitForSelectorAsync("#residents");
        Assert.Equal([patient], await tab.Page.Locator("#residents tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.id)"));
        Assert.Contains("Dashboard", await tab.Page.Locator("#residents").InnerTextAsync());
        Assert.Equal("1", await tab.Page.GetAttributeAsync("#summary", "data-count"));
        await tab.AssertAccessible();
        await tab.Page.GoBackAsync();

        // a month's number: the same residents as the API's list for that month
        var march = tab.Page.Locator("article.series[data-series='contracted-share/contracted'] table.by-month tr[data-key='2026-03'] td[data-name=numerator] a");
        if (await march.CountAsync() > 0)
        {
            await march.ClickAsync();
            await tab.Page.WaitForSelectorAsync("#residents");
            var listed = await tab.Page.Locator("#residents tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.id)");
            var api = await (await admin.GetAsync($"/fhir/Measure/contracted-share/$evaluate-measure?periodStart=2026-03&periodEnd=2026-03&reporter={Reporter}&reportType=subject-list")).ReadJson();
            Assert.Equal(Members(api, Group(api, "contracted"), "numerator"), listed.Order().ToArray());
            await tab.Page.GoBackAsync();
        }

        // the CSV is what the tables show, with the formula-like name made harmless
        var href = await tab.Page.GetAttributeAsync("#csv", "href");
        var csv = await tab.Page.APIRequest.GetAsync(href!);
        Assert.Equal(200, csv.Status);
        Assert.StartsWith("text/csv", csv.Headers["content-type"]);
        var lines = (await csv.TextAsync()).TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("indicator,group,by,key,label,numerator,denominator,count,score", lines[0]);
        Assert.Contains(lines, l => l.Contains($"Organization/{org},\"'=HYPERLINK(\"\"x\"\"),1\","));
        foreach (var series in await tab.Page.Locator("article.series").AllAsync())
        {
            var key = (await series.GetAttributeAsync("data-series"))!.Replace('/', ',');
            foreach (var (table, by) in new[] { ("table.by-month", "month"), ("table.by-institution", "institution") })
                foreach (var (rowKey, cells) in await Cells(series.Locator(table)))
                {
                    var line = Assert.Single(lines, l => l.StartsWith($"{key},{by},{rowKey},", StringComparison.Ordinal));
                    var values = line.Split(',')[^4..];
                    Assert.Equal(new[] { "numerator", "denominator", "count", "score" }.Select(n => cells.GetValueOrDefault(n) ?? ""), values);
                }
        }

        await tab.AssertKeyboardReaches("#show");
        await tab.AssertAccessible();
        tab.AssertNoConsoleErrors();
    }

    [Fact]
    public async System.Threading.Tasks.Task A_resident_and_a_gp_beyond_their_institution_see_the_refusal_not_the_numbers()
    {
        await using (var resident = await Browse.Open(fixture))
        {
            await resident.SignIn("/indicators", PagesFixture.ResidentId(1));
            Assert.True(await resident.Page.Locator("#refusal").CountAsync() == 1, resident.Page.Url + " " + await resident.Page.ContentAsync());
            Assert.Equal("403", await resident.Page.GetAttributeAsync("#refusal", "data-status"));
            Assert.Equal(0, await resident.Page.Locator("article.series").CountAsync());
            Assert.Equal(0, await resident.Page.Locator("#indicator-data").CountAsync());
            resident.AssertNoConsoleErrorsBut(403);
        }
        await using var gp = await Browse.Open(fixture, "zh-CN");
        var name = fixture.Directory.Teams[0].GpId;
        await gp.SignIn($"/indicators?from={From}&to={To}", name);
        // its own institution: the policy allows its own numbers, which equal the API's
        Assert.Equal(0, await gp.Page.Locator("#refusal").CountAsync());
        Assert.Equal("指标看板", await gp.Page.Locator("h1").InnerTextAsync());
        var own = await gp.Page.Locator("#reporter").InputValueAsync();
        Assert.StartsWith("Organization/station-", own);
        using var gpApi = await PageTokens.User(fixture, name);
        var report = await Evaluate(gpApi, "contracted-share", From, To, own);
        var shown = await gp.Page.Locator("article.series[data-series='contracted-share/contracted'] b.total").GetAttributeAsync("data-score");
        Assert.Equal(Group(report, "contracted")["measureScore"]?["value"]?.GetValue<decimal>(), shown is null ? null : decimal.Parse(shown, CultureInfo.InvariantCulture));
        await gp.Screenshot("indicators-zh");
        await gp.AssertAccessible();
        // the residents behind a number, the whole group: refused by the API, shown as such
        await gp.Page.GotoAsync($"/indicators/list?measure=contracted-share&group=contracted&population=denominator&from={From}&to={To}&reporter={Uri.EscapeDataString(own)}");
        Assert.Equal("403", await gp.Page.GetAttributeAsync("#refusal", "data-status"));
        Assert.Equal(0, await gp.Page.Locator("#residents").CountAsync());
        await gp.Page.GotoAsync($"/indicators?from={From}&to={To}&reporter=group");
        Assert.Equal("403", await gp.Page.GetAttributeAsync("#refusal", "data-status"));
        Assert.Contains("reporter=", await gp.Page.Locator("#refusal").InnerTextAsync());
        Assert.Equal(0, await gp.Page.Locator("article.series").CountAsync());
        // a bad period is a clear 400 on the page, with no call made
        var bad = await gp.Page.GotoAsync("/indicators?from=2026-13&to=2026-06");
        Assert.Equal(400, bad!.Status);
        Assert.Equal(1, await gp.Page.Locator("#invalid").CountAsync());
        gp.AssertNoConsoleErrorsBut(403, 400);
    }

    private static async Task<JsonObject> Evaluate(HttpClient api, string measure, string from, string to, string reporter = Reporter)
    {
        var response = await api.GetAsync($"/fhir/Measure/{measure}/$evaluate-measure?periodStart={from}&periodEnd={to}&reporter={reporter}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.ReadJson();
    }

    private static JsonNode Group(JsonObject report, string code) => report["group"]!.AsArray().Single(g => g!["code"]!["text"]!.GetValue<string>() == code)!;

    private static int Count(JsonNode node, string population) =>
        node["population"]?.AsArray().FirstOrDefault(p => p!["code"]!["coding"]![0]!["code"]!.GetValue<string>() == population)?["count"]?.GetValue<int>() ?? 0;

    private static Dictionary<string, JsonNode> Strata(JsonNode group) =>
        (group["stratifier"]?.AsArray() ?? []).Where(s => s!["code"]![0]!["text"]!.GetValue<string>() == "institution")
            .SelectMany(s => s!["stratum"]!.AsArray()).ToDictionary(s => s!["value"]!["text"]!.GetValue<string>(), s => s!);

    // A table's rows: key → cell name → data-value.
    private static async Task<Dictionary<string, Dictionary<string, string>>> Cells(ILocator table) =>
        JsonNode.Parse(await table.Locator("tbody tr[data-key]").EvaluateAllAsync<string>(
            "rows => JSON.stringify(rows.map(r => ({ key: r.dataset.key, cells: Object.fromEntries([...r.querySelectorAll('td[data-name]')].map(c => [c.dataset.name, c.dataset.value || ''])) })))"))!
        .AsArray().ToDictionary(r => r!["key"]!.GetValue<string>(), r => r!["cells"]!.AsObject().ToDictionary(c => c.Key, c => c.Value?.GetValue<string>() ?? ""));

    // The page's cells against the API's group or stratum: the counts its scoring shows and the score.
    private static void AssertCells(JsonNode api, Dictionary<string, string> cells, string where)
    {
        var score = api["measureScore"]?["value"]?.GetValue<decimal>();
        foreach (var (name, value) in cells)
        {
            if (name == "score")
            {
                Assert.True(score == (value.Length == 0 ? null : decimal.Parse(value, CultureInfo.InvariantCulture)), $"{where} score: page {value}, API {score}");
                continue;
            }
            var expected = name switch
            {
                "numerator" => Count(api, "numerator").ToString(CultureInfo.InvariantCulture),
                "denominator" => Count(api, "denominator").ToString(CultureInfo.InvariantCulture),
                "count" => Math.Max(Count(api, "initial-population"), Count(api, "measure-population")).ToString(CultureInfo.InvariantCulture),
                _ => score?.ToString(CultureInfo.InvariantCulture) ?? "",
            };
            Assert.True(expected == value, $"{where} {name}: page {value}, API {expected}");
        }
    }

    private static string[] Members(JsonObject report, JsonNode group, string population)
    {
        var at = group["population"]!.AsArray().Single(p => p!["code"]!["coding"]![0]!["code"]!.GetValue<string>() == population)!;
        var id = at["subjectResults"]!["reference"]!.GetValue<string>().TrimStart('#');
        var list = report["contained"]!.AsArray().Single(c => c!["id"]!.GetValue<string>() == id)!;
        return [.. (list["entry"]?.AsArray() ?? []).Select(e => e!["item"]!["reference"]!.GetValue<string>()["Patient/".Length..]).Order()];
    }
}
