using Microsoft.Playwright;

namespace Interop.Tests.Pages;

/// <summary>
/// /referrals: the hospital's and the station's worklists in two tabs; a new referral appears without reload (the
/// subscription channel relayed as server-sent events); the hospital accepts, starts and completes it on its page and
/// the station's page follows without reload; refusals of the API (no reason, another institution) are shown.
/// </summary>
[Collection(PagesCollection.Name)]
public sealed class ReferralPageTests(PagesFixture fixture)
{
    private const string Station = "station-01", Hospital = "hospital-1";
    private readonly ClinicalData _data = new(fixture);

    [Fact]
    public async Task A_new_referral_appears_live_at_the_hospital_which_moves_it_to_completed_while_the_gp_page_follows()
    {
        using var station = await _data.Emr(Station + "-emr");
        var (patient, _) = await ClinicalData.Resident(station);
        await using var hospitalTab = await Browse.Open(fixture);
        await using var gpTab = await Browse.Open(fixture);
        await Open(hospitalTab, PagesFixture.HospitalDoctor(1), "/referrals?state=all");
        await Open(gpTab, Gp(Station), "/referrals?state=all");

        var task = await ClinicalData.ReferUp(station, patient, Station, Hospital, "asap", "Chest pain for cardiology assessment");
        // Without reload: the marker set on the loaded document is still there when the row appears.
        var row = hospitalTab.Page.Locator($"#incoming tr[data-task='{task}']");
        await row.WaitForAsync(new LocatorWaitForOptions { Timeout = 20_000 });
        Assert.True(await Marked(hospitalTab));
        Assert.Equal("requested", await row.GetAttributeAsync("data-status"));
        Assert.Contains("Chest pain for cardiology assessment", await row.InnerTextAsync());
        await WaitForState(gpTab, "#outgoing", task, "requested");
        Assert.Contains("updated", await hospitalTab.Page.Locator("#live-status").InnerTextAsync());

        await hospitalTab.AssertKeyboardReaches($"#incoming tr[data-task='{task}'] button[value$='|accepted']", 120);
        await hospitalTab.Screenshot("referrals");
        await hospitalTab.AssertAccessible();

        foreach (var (button, state) in new[] { ("accepted", "accepted"), ("in-progress", "in-progress"), ("completed", "completed") })
        {
            await hospitalTab.Page.ClickAsync($"#incoming tr[data-task='{task}'] button[value$='|{button}']");
            await hospitalTab.Page.WaitForSelectorAsync($"#done[data-task='{task}'][data-done='{state}']");
            Assert.Equal(state, (await _data.TaskState(task)).Status);
            Assert.Equal(state, await hospitalTab.Page.Locator($"#incoming tr[data-task='{task}']").GetAttributeAsync("data-status"));
            await WaitForState(gpTab, "#outgoing", task, state);
        }

        // Refer down: the discharge summary, the down-referral and its task, which reaches the station's page live.
        var completed = hospitalTab.Page.Locator($"#incoming tr[data-task='{task}']");
        await completed.Locator("summary").ClickAsync();
        await completed.Locator("textarea").FillAsync("Admitted two days; stent placed. Aspirin and statin; review in two weeks.");
        await completed.Locator("button[value$='|down']").ClickAsync();
        var down = await hospitalTab.Page.Locator("#done[data-done='down']").GetAttributeAsync("data-task");
        Assert.False(string.IsNullOrEmpty(down));
        var (downState, downTask) = await _data.TaskState(down!);
        Assert.Equal("requested", downState);
        Assert.Equal("Organization/" + Station, downTask["owner"]!["reference"]!.GetValue<string>());
        using var admin = fixture.CreateClient();
        var downReferral = await ClinicalData.Get(admin, downTask["basedOn"]![0]!["reference"]!.GetValue<string>());
        Assert.StartsWith("DocumentReference/", downReferral["supportingInfo"]![0]!["reference"]!.GetValue<string>());
        await WaitForState(gpTab, "#incoming", down!, "requested");

        hospitalTab.AssertNoConsoleErrors();
        gpTab.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Reject_needs_a_reason_and_another_hospital_cannot_act_on_the_referral()
    {
        using var station = await _data.Emr(Station + "-emr");
        var (patient, _) = await ClinicalData.Resident(station);
        var task = await ClinicalData.ReferUp(station, patient, Station, Hospital, "routine", "Persistent abdominal pain");

        // Another hospital: it does not see the referral, and an action forced on its page is refused by the API.
        await using var other = await Browse.Open(fixture);
        await Open(other, PagesFixture.HospitalDoctor(2));
        Assert.Equal(0, await other.Page.Locator($"tr[data-task='{task}']").CountAsync());
        await other.Page.EvaluateAsync("""
            t => { const b = document.createElement('button'); b.type = 'submit'; b.name = 'act'; b.value = t + '|1|accepted';
                   b.id = 'forced'; b.textContent = 'accept'; document.getElementById('worklist-form').appendChild(b); }
            """, task);
        await other.Page.ClickAsync("#forced");
        await other.Page.WaitForSelectorAsync("#refusal");
        Assert.Equal("403", await other.Page.Locator("#refusal").GetAttributeAsync("data-status"));
        Assert.Equal("requested", (await _data.TaskState(task)).Status);
        other.AssertNoConsoleErrorsBut(403);

        // The hospital, in Chinese: rejecting without a reason is the API's 422; with one, the task is rejected.
        await using var tab = await Browse.Open(fixture, "zh-CN");
        await Open(tab, PagesFixture.HospitalDoctor(1));
        Assert.Contains("转诊工作列表", await tab.Page.Locator("h1").InnerTextAsync());
        Assert.True(await tab.Page.Locator($"#incoming tr[data-task='{task}']").CountAsync() == 1, await tab.Page.Locator("main").InnerTextAsync());
        await tab.Page.ClickAsync($"#incoming tr[data-task='{task}'] button[value$='|rejected']");
        await tab.Page.WaitForSelectorAsync("#refusal");
        Assert.Equal("422", await tab.Page.Locator("#refusal").GetAttributeAsync("data-status"));
        Assert.Contains("statusReason", await tab.Page.Locator("#refusal").InnerTextAsync());
        Assert.Equal("requested", (await _data.TaskState(task)).Status);
        await tab.Screenshot("referrals-zh-CN-refused");
        await tab.AssertAccessible();

        await tab.Page.FillAsync($"#reason-{task}", "No cardiology clinic this month; refer to hospital 2");
        await tab.Page.ClickAsync($"#incoming tr[data-task='{task}'] button[value$='|rejected']");
        await tab.Page.WaitForSelectorAsync($"#done[data-task='{task}'][data-done='rejected']");
        var (state, rejected) = await _data.TaskState(task);
        Assert.Equal("rejected", state);
        Assert.Equal("No cardiology clinic this month; refer to hospital 2", rejected["statusReason"]!["text"]!.GetValue<string>());
        await tab.Screenshot("referrals-zh-CN");
        tab.AssertNoConsoleErrorsBut(422);
    }

    [Fact]
    public async Task A_user_without_an_institution_gets_no_worklist_and_the_events_need_a_session()
    {
        await using var tab = await Browse.Open(fixture);
        var anonymous = await tab.Page.APIRequest.GetAsync("/referrals?handler=Events", new APIRequestContextOptions { MaxRedirects = 0 });
        Assert.Equal(302, anonymous.Status); // to the sign-in, not a stream
        await tab.SignIn("/referrals", "analyst-1");
        Assert.Equal(1, await tab.Page.Locator("#no-institution").CountAsync());
        Assert.Equal(0, await tab.Page.Locator("#worklist").CountAsync());
        var events = await tab.Page.APIRequest.GetAsync("/referrals?handler=Events");
        Assert.Equal(403, events.Status);
        tab.AssertNoConsoleErrors();
    }

    private string Gp(string station) => fixture.Directory.Teams.First(t => t.StationId == station).GpId;

    private static async Task Open(Browse tab, string user, string path = "/referrals")
    {
        await tab.SignIn(path, user);
        await Live(tab);
    }

    // The page's channel is bound; a marker on the document tells a later check that no reload happened.
    private static async Task Live(Browse tab)
    {
        await tab.Page.WaitForSelectorAsync("#live-status[data-live='ready']", new PageWaitForSelectorOptions { Timeout = 30_000 });
        await tab.Page.EvaluateAsync("() => { window.__notReloaded = true; }");
    }

    private static Task<bool> Marked(Browse tab) => tab.Page.EvaluateAsync<bool>("() => window.__notReloaded === true");

    private static async Task WaitForState(Browse tab, string table, string task, string state)
    {
        await tab.Page.WaitForSelectorAsync($"{table} tr[data-task='{task}'][data-status='{state}']", new PageWaitForSelectorOptions { Timeout = 20_000 });
        Assert.True(await Marked(tab), "the page was reloaded");
    }
}
