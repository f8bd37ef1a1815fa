using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;
using static Interop.Tests.Workflows.IndicatorData;
using Status = Hl7.Fhir.Model.EpisodeOfCare.EpisodeOfCareStatus;

namespace Interop.Tests.Workflows;

/// <summary>
/// The group's indicators ($evaluate-measure) on hand-built populations with known answers. Each test makes its own
/// hospital and station and asks with reporter = one of them, so the tests' residents do not mix.
/// </summary>
public sealed partial class IndicatorTests(GroupWorld world) : IClassFixture<GroupWorld>
{
    private readonly IndicatorData data = new(world);

    [Fact]
    public async Task Contracted_share_counts_residents_with_a_contract_in_the_period()
    {
        var (hospital, station) = await data.Institutions();
        var r = await data.Residents(station, 5);
        await data.Contract(r[0], Status.Finished, "2025-01-01", "2025-12-31");
        await data.Contract(r[1], Status.Finished, "2024-07-01", "2025-06-30");
        await data.Contract(r[2], Status.Finished, "2023-01-01", "2023-12-31");   // another year
        await data.Contract(r[3], Status.Cancelled, "2025-02-01", "2026-01-31");  // never in force
        var report = await data.Evaluate("contracted-share", $"periodStart=2025-01-01&periodEnd=2025-12-31&reporter=Organization/{station}");
        var group = Group(report, "contracted");
        Assert.Equal((5, 5, 2), (Count(group, "initial-population"), Count(group, "denominator"), Count(group, "numerator")));
        Assert.Equal(0.4m, Score(group));
        Assert.Equal($"Organization/{station}", report["reporter"]!["reference"]!.GetValue<string>());
        Assert.Equal("2025-01-01", report["period"]!["start"]!.GetValue<string>());
        // the period: 2023 has one contract; the hospital's report covers the station under it
        Assert.Equal(0.2m, Score(Group(await data.Evaluate("contracted-share", $"periodStart=2023&periodEnd=2023&reporter=Organization/{station}"), "contracted")));
        var byHospital = Group(await data.Evaluate("contracted-share", $"periodStart=2025-01&periodEnd=2025-12&reporter=Organization/{hospital}"), "contracted");
        Assert.Equal((5, 2), (Count(byHospital, "denominator"), Count(byHospital, "numerator")));
        Assert.Equal(2, Count(Strata(byHospital, "institution")[$"Organization/{station}"], "numerator"));
    }

    [Fact]
    public async Task Care_inside_and_outside_the_group_by_provider_and_month()
    {
        var (hospital, station) = await data.Institutions();
        var external = await data.Admin.CreateId(new Organization { Name = "Hospital outside the group" });
        var r = await data.Residents(station, 2);
        await data.Encounter(r[0], "2025-03-02T09:00:00Z", station);
        await data.Encounter(r[0], "2025-03-20T09:00:00Z", hospital);
        await data.Encounter(r[1], "2025-04-05T09:00:00Z", world.Hospital);
        await data.Encounter(r[1], "2025-04-06T09:00:00Z", external);
        await data.Encounter(r[1], "2025-04-07T09:00:00Z", null);
        await data.Encounter(r[1], "2024-04-07T09:00:00Z", station);                                  // another year
        await data.Encounter(r[0], "2025-05-01T09:00:00Z", station, Encounter.EncounterStatus.Cancelled); // did not happen
        var report = await data.Evaluate("care-inside-group", $"periodStart=2025-01-01&periodEnd=2025-12-31&reporter=Organization/{station}");
        var (inside, outside) = (Group(report, "inside"), Group(report, "outside"));
        Assert.Equal((5, 3, 2), (Count(inside, "denominator"), Count(inside, "numerator"), Count(outside, "numerator")));
        Assert.Equal((0.6m, 0.4m), (Score(inside), Score(outside)));
        var months = Strata(inside, "month");
        Assert.Equal(["2025-03", "2025-04"], months.Keys.Order());
        Assert.Equal((2, 2), (Count(months["2025-03"], "numerator"), Count(months["2025-03"], "denominator")));
        Assert.Equal((1, 3), (Count(months["2025-04"], "numerator"), Count(months["2025-04"], "denominator")));
        var providers = Strata(outside, "provider");
        Assert.Equal((1, 1), (Count(providers["none"], "numerator"), Count(providers[$"Organization/{external}"], "numerator")));
        Assert.Equal(0, Count(providers[$"Organization/{station}"], "numerator"));
    }

    [Fact]
    public async Task Case_management_by_condition_and_year()
    {
        const string ht = "59621000", dm = "44054006";
        var (_, station) = await data.Institutions();
        var r = await data.Residents(station, 3);
        await data.CaseManagement(r[0], station, ht, "2024-06-01", null, Status.Active);
        await data.CaseManagement(r[0], station, dm, "2025-02-01", null, Status.Active);
        await data.CaseManagement(r[1], station, dm, "2025-03-01", "2025-05-01", Status.Finished);
        await data.CaseManagement(r[2], station, dm, "2025-03-01", null, Status.EnteredInError);   // not counted
        var report = await data.Evaluate("case-management", $"periodStart=2024-01-01&periodEnd=2025-12-31&reporter=Organization/{station}");
        var group = Group(report, "managed");
        Assert.Equal(2, Count(group, "initial-population")); // residents, once each
        var conditions = Strata(group, "condition");
        Assert.Equal((1, 2), (Count(conditions[ht], "initial-population"), Count(conditions[dm], "initial-population")));
        var years = Strata(group, "year");
        Assert.Equal((1, 2), (Count(years["2024"], "initial-population"), Count(years["2025"], "initial-population")));
        var both = Strata(group, "condition-year");
        Assert.Equal([$"{dm} 2025", $"{ht} 2024", $"{ht} 2025"], both.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, Count(both[$"{dm} 2025"], "initial-population"));
        // 2024 alone: only the hypertension episode was open
        Assert.Equal(1, Count(Group(await data.Evaluate("case-management", $"periodStart=2024&periodEnd=2024&reporter=Organization/{station}"), "managed"), "initial-population"));
    }

    [Fact]
    public async Task High_risk_residents_with_a_care_plan_use_the_latest_final_assessment()
    {
        var (_, station) = await data.Institutions();
        var r = await data.Residents(station, 5);
        await data.Risk(r[0], "2025-03-01", "high"); await data.CarePlan(r[0], RequestStatus.Active);
        await data.Risk(r[1], "2025-05-01", "high");
        await data.Risk(r[2], "2025-02-01", "high"); await data.Risk(r[2], "2025-06-01", "low"); // latest is low
        await data.Risk(r[3], "2025-02-01", "high", ObservationStatus.Preliminary);                // not final
        await data.Risk(r[4], "2025-02-01", "moderate"); await data.Risk(r[4], "2025-08-01", "high");
        await data.CarePlan(r[4], RequestStatus.Completed);                                         // not active
        var group = Group(await data.Evaluate("high-risk-care-plan", $"periodStart=2025-01-01&periodEnd=2025-12-31&reporter=Organization/{station}"), "planned");
        Assert.Equal((3, 1), (Count(group, "denominator"), Count(group, "numerator")));
        Assert.Equal(0.3333m, Score(group));
        // before June resident 2's latest was high
        var spring = Group(await data.Evaluate("high-risk-care-plan", $"periodStart=2025-01-01&periodEnd=2025-05-31&reporter=Organization/{station}"), "planned");
        Assert.Equal((3, 1), (Count(spring, "denominator"), Count(spring, "numerator")));
    }

    [Theory]
    [InlineData("periodEnd=2025-12-31", "periodStart")]
    [InlineData("periodStart=2025-01-01", "periodEnd")]
    [InlineData("periodStart=2025-13-01&periodEnd=2025-12-31", "periodStart")]
    [InlineData("periodStart=2025-01-01&periodEnd=2025-12-31T10:00:00Z", "periodEnd")]
    [InlineData("periodStart=2025-06-01&periodEnd=2025-01-31", "periodEnd")]
    [InlineData("periodStart=2025&periodEnd=2025&reporter=Patient/x", "reporter")]
    [InlineData("periodStart=2025&periodEnd=2025&reporter=Organization/no-such-org", "reporter")]
    [InlineData("periodStart=2025&periodEnd=2025&reportType=individual", "reportType")]
    [InlineData("periodStart=2025&periodEnd=2025&subject=Patient/x", "subject")]
    [InlineData("periodStart=2025&periodStart=2026&periodEnd=2026", "periodStart")]
    [InlineData("periodStart=2025&periodEnd=2025&measure=referrals", "measure")]
    public async Task Bad_parameters_are_400_naming_them(string query, string parameter)
    {
        var response = await data.Admin.GetAsync($"/fhir/Measure/contracted-share/$evaluate-measure?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(await response.Issues(), i => i.Expression == parameter && i.Diagnostics.Contains(parameter));
    }

    [Fact]
    public async Task Type_level_needs_a_known_measure()
    {
        var missing = await data.Admin.GetAsync("/fhir/Measure/$evaluate-measure?periodStart=2025&periodEnd=2025");
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains(await missing.Issues(), i => i.Expression == "measure");
        Assert.Equal(HttpStatusCode.NotFound, (await data.Admin.GetAsync("/fhir/Measure/$evaluate-measure?measure=no-such&periodStart=2025&periodEnd=2025")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await data.Admin.GetAsync("/fhir/Measure/$evaluate-measure?measure=http://elsewhere.example/Measure/x&periodStart=2025&periodEnd=2025")).StatusCode);
        var byUrl = await data.Admin.GetAsync("/fhir/Measure/$evaluate-measure?measure=https://interop.example/fhir/Measure/referrals|1.0.0&periodStart=2025&periodEnd=2025");
        Assert.Equal(HttpStatusCode.OK, byUrl.StatusCode);
        Assert.Equal(["up", "down", "time-to-accept"], (await byUrl.ReadJson())["group"]!.AsArray().Select(g => g!["code"]!["text"]!.GetValue<string>()));
    }
}
