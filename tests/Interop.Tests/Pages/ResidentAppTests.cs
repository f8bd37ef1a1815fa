using System.Text.Json.Nodes;
using Interop.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Interop.Tests.Pages;

/// <summary>
/// The residents' app at /app: the full SMART standalone launch in the browser (login form, consent page, back with a
/// code exchanged with PKCE), the record it shows checked against the API, its charts' points, the resident's own
/// access report, phone width, both languages, and what it refuses: staff accounts, and any other resident's record.
/// </summary>
[Collection(PagesCollection.Name)]
public sealed class ResidentAppTests(PagesFixture fixture)
{
    private const string Bp = "http://loinc.org|85354-9", A1c = "http://loinc.org|4548-4";

    [Fact]
    public async Task A_resident_launches_the_app_at_phone_width_and_sees_their_record_as_the_api_has_it()
    {
        var data = await new ResidentAppData(fixture, PagesFixture.ResidentId(2)).Build();
        await data.GpReads();
        // A search naming this resident and another: the resident's report may not say who else it returned.
        var other = PagesFixture.ResidentId(5);
        Assert.True((await data.Admin.GetAsync($"/fhir/Patient?_id={data.ResidentId},{other}")).IsSuccessStatusCode);

        await using var tab = await Browse.Open(fixture, phone: true);
        await tab.Page.GotoAsync("/app/");
        await tab.Page.WaitForSelectorAsync("body[data-ready=true]");
        Assert.True(await tab.Page.IsVisibleAsync("#sign-in"));
        await tab.AssertKeyboardReaches("#sign-in");
        await Launch(tab, data.ResidentId);

        // The code is gone from the address; the token is in sessionStorage, nothing of it in localStorage.
        Assert.DoesNotContain("code=", tab.Page.Url);
        var session = JsonNode.Parse(await tab.Page.EvaluateAsync<string>("() => sessionStorage.getItem('interop-app.session')"))!;
        Assert.Equal(data.ResidentId, (string?)session["patient"]);
        var token = (string)session["accessToken"]!;
        Assert.DoesNotContain(token[..40], await tab.Page.EvaluateAsync<string>("() => JSON.stringify(Object.assign({}, localStorage))"));

        // Who, and the contract's GP, as the API has them.
        var patient = await (await data.Admin.GetAsync($"/fhir/{data.Patient}")).ReadJson();
        Assert.Equal((string)patient["name"]![0]!["text"]!, await tab.Page.InnerTextAsync("#patient-name"));
        var contracts = await (await data.Admin.GetAsync($"/fhir/EpisodeOfCare?patient={data.Patient}&status=active&type=family-doctor-contract")).ReadJson();
        var contract = contracts["entry"]![0]!["resource"]!;
        var gp = (string)contract["careManager"]!["reference"]!;
        var gpName = (string)(await (await data.Admin.GetAsync($"/fhir/{gp}")).ReadJson())["name"]![0]!["text"]!;
        Assert.Equal(gpName, await tab.Page.InnerTextAsync("#gp-name"));
        Assert.Equal((string)contract["id"]!, await tab.Page.GetAttributeAsync("#contract-facts", "data-contract"));

        // The care plan's next activities, soonest first; the completed one is not among them.
        var activities = await tab.Page.InnerTextAsync("#activities");
        Assert.True(activities.IndexOf("Follow-up visit " + data.Tag) is var visit and >= 0 && visit < activities.IndexOf("HbA1c test " + data.Tag), activities);
        Assert.DoesNotContain("Salt education " + data.Tag, activities);

        // Every referral task the API has for the resident, in its state.
        var tasks = await (await data.Admin.GetAsync($"/fhir/Task?patient={data.Patient}&code=fulfill&_count=100")).ReadJson();
        var states = tasks["entry"]!.AsArray().Select(e => e!["resource"]!)
            .ToDictionary(t => ((string)t["basedOn"]![0]!["reference"]!).Split('/')[1], t => (string)t["status"]!);
        Assert.Equal("accepted", states[data.AcceptedReferral]);
        Assert.Equal("requested", states[data.OpenReferral]);
        Assert.Equal(states.Count, await tab.Page.Locator("#referral-table tbody tr").CountAsync());
        foreach (var (request, state) in states)
            Assert.Equal(state, await tab.Page.GetAttributeAsync($"tr[data-referral='{request}']", "data-state"));
        Assert.Contains("Knee pain on stairs " + data.Tag, await tab.Page.InnerTextAsync("#referral-table"));

        // The charts: as many points as the API has observations, the values in date order; the same in the tables.
        var bp = await Observations(data, Bp);
        var systolic = bp.Select(o => (double)o["component"]!.AsArray().First(c => (string)c!["code"]!["coding"]![0]!["code"]! == "8480-6")!["valueQuantity"]!["value"]!).ToArray();
        var points = await tab.Page.EvaluateAsync<double?[][]>("id => Chart.getChart(document.getElementById(id)).data.datasets.map(d => d.data)", "bp-chart");
        Assert.Equal(2, points.Length);
        Assert.Equal(systolic, points[0].Select(v => v!.Value).ToArray());
        Assert.Equal(bp.Count, points[1].Length);
        var a1c = (await Observations(data, A1c)).Select(o => (double)o["valueQuantity"]!["value"]!).ToArray();
        var a1cPoints = await tab.Page.EvaluateAsync<double?[][]>("id => Chart.getChart(document.getElementById(id)).data.datasets.map(d => d.data)", "a1c-chart");
        Assert.Equal(a1c, Assert.Single(a1cPoints).Select(v => v!.Value).ToArray());
        Assert.Subset(systolic.ToHashSet(), data.BloodPressure.Select(b => (double)b.Sys).ToHashSet());
        Assert.Contains("93", await tab.Page.InnerTextAsync("#bp-values"));
        Assert.Contains("7.4", await tab.Page.InnerTextAsync("#a1c-values"));
        Assert.Equal(bp.Count, await tab.Page.Locator("#bp-values tbody tr").CountAsync());

        // Who accessed the record: the GP (a person, their station) and the hospital that accepted the referral;
        // not the resident's own use unless asked; never the other resident the admin's search returned.
        var gpRow = tab.Page.Locator($"#access-table tr[data-person='Practitioner/{data.Team.GpId}']").First;
        Assert.Contains(data.Team.GpName, await gpRow.InnerTextAsync());
        Assert.Equal($"Organization/{data.StationId}", await gpRow.GetAttributeAsync("data-institution"));
        Assert.True(await tab.Page.Locator($"#access-table tr[data-institution='Organization/{data.HospitalId}']").CountAsync() > 0);
        Assert.Equal(0, await tab.Page.Locator($"#access-table tr[data-person='{data.Patient}']").CountAsync());
        Assert.DoesNotContain(other, await tab.Page.ContentAsync());
        // Phone width: nothing wider than the screen (tables scroll in their own box).
        Assert.True(await tab.Page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the page is wider than the phone");
        await tab.Screenshot("app");
        await tab.Page.CheckAsync("#show-own");
        Assert.True(await tab.Page.Locator($"#access-table tr[data-person='{data.Patient}']").CountAsync() > 0);

        await tab.AssertAccessible();
        await tab.AssertKeyboardReaches("#sign-out", 80);
        tab.AssertNoConsoleErrors();

        // Signing out forgets the token and ends the sign-in at the authorisation server: the next one asks again.
        await tab.Page.ClickAsync("#sign-out");
        await tab.Page.WaitForSelectorAsync("body[data-ready=true] #sign-in:visible");
        Assert.Null(await tab.Page.EvaluateAsync<string?>("() => sessionStorage.getItem('interop-app.session')"));
        await tab.Page.ClickAsync("#sign-in");
        await tab.Page.WaitForSelectorAsync("input[name=username]");
    }

    [Fact]
    public async Task A_chinese_browser_gets_the_app_in_chinese_with_a_switch_it_remembers_and_an_expired_token_asks_to_sign_in_again()
    {
        var data = await new ResidentAppData(fixture, PagesFixture.ResidentId(3)).Build();
        await using var tab = await Browse.Open(fixture, "zh-CN", phone: true);
        await Launch(tab, data.ResidentId);
        Assert.Equal("zh-CN", await tab.Page.GetAttributeAsync("html", "lang"));
        Assert.Equal("您的家庭医生签约", await tab.Page.InnerTextAsync("#contract-title"));
        Assert.Equal("谁查看过我的档案", await tab.Page.InnerTextAsync("#access-title"));
        Assert.Contains("已接收", await tab.Page.InnerTextAsync($"tr[data-referral='{data.AcceptedReferral}']"));
        Assert.Equal((await Observations(data, A1c)).Count,
            (await tab.Page.EvaluateAsync<double?[][]>("id => Chart.getChart(document.getElementById(id)).data.datasets.map(d => d.data)", "a1c-chart"))[0].Length);
        await tab.Screenshot("app-zh");
        await tab.AssertAccessible();

        // The switch: English now, and still English after a reload (localStorage), then back.
        await tab.Page.ClickAsync("button[data-lang=en]");
        Assert.Equal("en", await tab.Page.GetAttributeAsync("html", "lang"));
        Assert.Equal("Your family doctor contract", await tab.Page.InnerTextAsync("#contract-title"));
        await tab.Page.ReloadAsync();
        await tab.Page.WaitForSelectorAsync("body[data-ready=true]");
        Assert.Equal("Who accessed my record", await tab.Page.InnerTextAsync("#access-title"));
        await tab.AssertKeyboardReaches("button[data-lang='zh-CN']");
        await tab.Page.Keyboard.PressAsync("Enter");
        Assert.Equal("zh-CN", await tab.Page.GetAttributeAsync("html", "lang"));
        tab.AssertNoConsoleErrors();

        // A token the server no longer takes (401): the app says so and offers the sign-in again.
        await tab.Page.EvaluateAsync("() => { const s = JSON.parse(sessionStorage.getItem('interop-app.session')); s.accessToken = 'expired.' + s.accessToken.slice(8); sessionStorage.setItem('interop-app.session', JSON.stringify(s)); }");
        await tab.Page.ReloadAsync();
        await tab.Page.WaitForSelectorAsync("body[data-ready=true]");
        Assert.Contains("您的登录已过期", await tab.Page.InnerTextAsync("#refusal"));
        Assert.True(await tab.Page.IsVisibleAsync("#sign-in"));
        Assert.False(await tab.Page.IsVisibleAsync("#record"));
        Assert.Null(await tab.Page.EvaluateAsync<string?>("() => sessionStorage.getItem('interop-app.session')"));
    }

    [Fact]
    public async Task The_app_is_served_at_app_with_its_own_content_security_policy()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(fixture.Root) };
        var bare = await http.GetAsync("/app");
        Assert.EndsWith("/app/", bare.Headers.Location?.OriginalString);
        var index = await http.GetAsync("/app/");
        Assert.Equal(System.Net.HttpStatusCode.OK, index.StatusCode);
        Assert.Contains("/app/app.js", await index.Content.ReadAsStringAsync());
        foreach (var response in new[] { index, await http.GetAsync("/app/app.js") })
        {
            var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("script-src 'self'", csp);
            Assert.DoesNotContain("unsafe-inline", csp);
            Assert.Equal("no-referrer", string.Join("", response.Headers.GetValues("Referrer-Policy"))); // the code is in the address until stripped
            Assert.Equal("DENY", string.Join("", response.Headers.GetValues("X-Frame-Options")));
        }
    }

    [Fact]
    public async Task A_gp_gets_no_resident_record_and_a_residents_token_reads_no_one_elses()
    {
        // A GP signing in to the residents' app: the authorisation server sends them back refused, the app says why.
        await using (var staff = await Browse.Open(fixture))
        {
            await staff.Page.GotoAsync("/app/");
            await staff.Page.ClickAsync("#sign-in");
            await SignInForm(staff, fixture.Directory.Teams[0].GpId);
            await WaitForApp(staff);
            await staff.Page.WaitForSelectorAsync("body[data-ready=true]");
            Assert.Contains("for residents", await staff.Page.InnerTextAsync("#refusal"));
            Assert.False(await staff.Page.IsVisibleAsync("#record"));
            Assert.Null(await staff.Page.EvaluateAsync<string?>("() => sessionStorage.getItem('interop-app.session')"));
            Assert.DoesNotContain("error=", staff.Page.Url);
            await staff.Screenshot("app-staff-refused");
            await staff.AssertAccessible();
            staff.AssertNoConsoleErrors();
            // Signing out ends the GP's sign-in at the authorisation server: the next sign-in asks who it is.
            await staff.Page.ClickAsync("#sign-out");
            await staff.Page.WaitForSelectorAsync("body[data-ready=true]");
            await staff.Page.ClickAsync("#sign-in");
            await staff.Page.WaitForSelectorAsync("input[name=username]");
        }

        // Another resident's data, for this test: a blood pressure nobody else has.
        var victim = await new ResidentAppData(fixture, PagesFixture.ResidentId(1)).Connect();
        await victim.AddBloodPressure(177, 111, ResidentAppData.Today);
        var victimName = (string)(await (await victim.Admin.GetAsync($"/fhir/{victim.Patient}")).ReadJson())["name"]![0]!["text"]!;

        var self = await new ResidentAppData(fixture, PagesFixture.ResidentId(4)).Connect();
        await using var tab = await Browse.Open(fixture);
        await Launch(tab, self.ResidentId);
        tab.AssertNoConsoleErrors(); // the refusals below log their 403 and 404 on purpose

        // Directly with the app's own token: the other resident is not found, their report refused, searches empty.
        async Task<(int Status, string Body)> Get(string path)
        {
            var answer = await tab.Page.EvaluateAsync<System.Text.Json.JsonElement>(
                "async p => { const s = JSON.parse(sessionStorage.getItem('interop-app.session')); " +
                "const r = await fetch('/fhir/' + p, { headers: { Authorization: 'Bearer ' + s.accessToken } }); return { status: r.status, body: await r.text() }; }", path);
            return (answer.GetProperty("status").GetInt32(), answer.GetProperty("body").GetString()!);
        }
        Assert.Equal(404, (await Get(victim.Patient)).Status);
        var report = await Get($"AuditEvent/$access-report?patient={victim.Patient}");
        Assert.Equal(403, report.Status);
        Assert.Contains("own record only", report.Body);
        var search = await Get($"Observation?patient={victim.Patient}&code={Bp}");
        Assert.True(search.Status == 403 || search.Status == 200 && !search.Body.Contains("\"entry\""), $"{search.Status} {search.Body}");
        // What the resident's token may read of the directory: the GP (Practitioner, shared); not a team (CareTeam is in the compartment).
        Assert.Equal(200, (await Get($"Practitioner/{self.Team.GpId}")).Status);
        Assert.Equal(404, (await Get($"CareTeam/{self.Team.Id}")).Status);

        // Through the page itself, pointed at the other resident: it shows the refusals, not their record.
        await tab.Page.EvaluateAsync($"() => {{ const s = JSON.parse(sessionStorage.getItem('interop-app.session')); s.patient = '{victim.ResidentId}'; sessionStorage.setItem('interop-app.session', JSON.stringify(s)); }}");
        await tab.Page.ReloadAsync();
        await tab.Page.WaitForSelectorAsync("body[data-ready=true]");
        Assert.Equal("404", await tab.Page.GetAttributeAsync("#patient-facts .refusal", "data-status"));
        Assert.Equal("403", await tab.Page.GetAttributeAsync("#access .refusal", "data-status"));
        Assert.Contains("Not allowed", await tab.Page.InnerTextAsync("#access"));
        var shown = await tab.Page.InnerTextAsync("#record");
        Assert.DoesNotContain(victimName, shown);
        Assert.DoesNotContain("177", shown);
        await tab.Screenshot("app-other-resident-refused");
    }

    private static async Task SignInForm(Browse tab, string username)
    {
        await tab.Page.WaitForSelectorAsync("input[name=username]");
        await tab.Page.FillAsync("input[name=username]", username);
        await tab.Page.FillAsync("input[name=password]", PagesFixture.Password(username));
        await tab.Page.ClickAsync("button[type=submit]");
    }

    /// <summary>The standalone launch as the resident does it: the app's sign-in button, the login form, the consent page, back to /app.</summary>
    private async Task Launch(Browse tab, string resident)
    {
        await tab.Page.GotoAsync("/app/");
        await tab.Page.WaitForSelectorAsync("body[data-ready=true]");
        await tab.Page.ClickAsync("#sign-in");
        Assert.Contains("code_challenge_method=S256", await WaitForAuthorize(tab));
        await SignInForm(tab, resident);
        await tab.Page.WaitForSelectorAsync("button[value=approve]");
        var scopes = await tab.Page.Locator("#scopes li").EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.scope)");
        Assert.Contains("patient/AuditEvent.rs", scopes);
        Assert.Contains("launch/patient", scopes);
        await tab.Page.ClickAsync("button[value=approve]");
        await WaitForApp(tab);
        await tab.Page.WaitForSelectorAsync("body[data-ready=true]");
        Assert.True(await tab.Page.IsVisibleAsync("#record"), await tab.Page.InnerTextAsync("main"));
    }

    private static Task<string> WaitForAuthorize(Browse tab) => tab.WaitForAddress(u => u.Contains("/auth/authorize"), "no authorisation page");

    private static Task<string> WaitForApp(Browse tab) => tab.WaitForAddress(u => u.StartsWith(tab.Fixture.Root + "/app/", StringComparison.Ordinal), "not back in the app");

    private static async Task<List<JsonNode>> Observations(ResidentAppData data, string code)
    {
        var bundle = await (await data.Admin.GetAsync($"/fhir/Observation?patient={data.Patient}&code={Uri.EscapeDataString(code)}&_count=200")).ReadJson();
        return (bundle["entry"] as JsonArray ?? []).Select(e => e!["resource"]!)
            .OrderBy(o => DateTimeOffset.Parse((string)o["effectiveDateTime"]!)).ToList();
    }
}
