using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;
using static Interop.Tests.Workflows.IndicatorData;
using Status = Hl7.Fhir.Model.EpisodeOfCare.EpisodeOfCareStatus;

namespace Interop.Tests.Workflows;

/// <summary>Who may evaluate the indicators, and that an institution's report holds only its own residents.</summary>
public sealed partial class IndicatorTests
{
    [Fact]
    public async Task An_institution_sees_its_own_numbers_only_and_the_group_sees_all()
    {
        var (_, x) = await data.Institutions();
        var (_, y) = await data.Institutions();
        var xs = await data.Residents(x, 2);
        var ys = await data.Residents(y, 3);
        await data.Contract(xs[0], Status.Finished, "2025-01-01", "2025-12-31");
        foreach (var resident in ys) await data.Contract(resident, Status.Finished, "2025-01-01", "2025-12-31");
        var tag = Guid.NewGuid().ToString("N")[..6];
        var station = await world.Server.ClientWith("ind-x-" + tag, "system/*.rs", $"Organization/{x}", "clinician");
        var centre = await world.Server.ClientWith("ind-centre-" + tag, "system/*.rs"); // the information centre: no institution

        // the station, for itself: its two residents, one contracted; no stratum of any other institution
        var own = await data.Evaluate("contracted-share", $"periodStart=2025&periodEnd=2025&reporter=Organization/{x}", station);
        var group = Group(own, "contracted");
        Assert.Equal((2, 1), (Count(group, "denominator"), Count(group, "numerator")));
        Assert.Equal([$"Organization/{x}"], Strata(group, "institution").Keys);

        // the whole group, another institution, a parent of it, POST without reporter: refused
        foreach (var query in new[] { "", $"&reporter=Organization/{y}", $"&reporter=Organization/{world.Group}" })
        {
            var refused = await station.GetAsync($"/fhir/Measure/contracted-share/$evaluate-measure?periodStart=2025&periodEnd=2025{query}");
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains(await refused.Issues(), i => i.Diagnostics.Contains($"reporter=Organization/{x}"));
        }
        var post = new Parameters();
        post.Add("periodStart", new Date("2025")); post.Add("periodEnd", new Date("2025"));
        Assert.Equal(HttpStatusCode.Forbidden, (await station.PostAsync("/fhir/Measure/contracted-share/$evaluate-measure", FhirTest.Body(post))).StatusCode);

        // the information centre: the whole group, every institution's stratum — the same figures as each one's own report
        var all = Group(await data.Evaluate("contracted-share", "periodStart=2025&periodEnd=2025", centre), "contracted");
        var strata = Strata(all, "institution");
        Assert.Equal((2, 1), (Count(strata[$"Organization/{x}"], "denominator"), Count(strata[$"Organization/{x}"], "numerator")));
        Assert.Equal((3, 3), (Count(strata[$"Organization/{y}"], "denominator"), Count(strata[$"Organization/{y}"], "numerator")));
        Assert.True(Count(all, "denominator") >= 5);
        post.Add("reporter", new ResourceReference($"Organization/{y}"));
        var byPost = await centre.PostAsync("/fhir/Measure/contracted-share/$evaluate-measure", FhirTest.Body(post));
        Assert.Equal(HttpStatusCode.OK, byPost.StatusCode);
        Assert.Equal(1m, Score(Group(await byPost.ReadJson(), "contracted")));

        // scopes: search on every counted type is needed; no token is 401
        var narrow = await world.Server.ClientWith("ind-narrow-" + tag, "system/Patient.rs system/Measure.rs");
        var noScope = await narrow.GetAsync("/fhir/Measure/contracted-share/$evaluate-measure?periodStart=2025&periodEnd=2025");
        Assert.Equal(HttpStatusCode.Forbidden, noScope.StatusCode);
        Assert.Contains(await noScope.Issues(), i => i.Diagnostics.Contains("$evaluate-measure"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await world.Server.Anonymous().GetAsync("/fhir/Measure/contracted-share/$evaluate-measure?periodStart=2025&periodEnd=2025")).StatusCode);
    }

    [Fact]
    public async Task The_evaluation_is_in_the_access_log()
    {
        await data.Evaluate("referrals", "periodStart=2025&periodEnd=2025");
        var auditor = await world.Server.ClientWith("ind-audit-" + Guid.NewGuid().ToString("N")[..6], "system/AuditEvent.rs");
        var response = await auditor.GetAsync("/fhir/AuditEvent?entity=Measure/referrals&subtype=operation&_count=5");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var log = await response.ReadJson();
        Assert.NotEqual(0, log["entry"]?.AsArray().Count ?? 0);
    }
}
