using System.Net;
using System.Text.Json.Nodes;
using Interop.Tests.Infrastructure;
using static Interop.Tests.Workflows.IndicatorData;
using Status = Hl7.Fhir.Model.EpisodeOfCare.EpisodeOfCareStatus;

namespace Interop.Tests.Workflows;

/// <summary>reportType=subject-list: the residents behind each count, for the group's own systems only, and logged.</summary>
public sealed partial class IndicatorTests
{
    [Fact]
    public async Task A_subject_list_names_the_residents_behind_each_count_and_their_institution()
    {
        var (hospital, x) = await data.Institutions();
        var y = await data.Admin.CreateId(Org("station", hospital));
        var xs = await data.Residents(x, 3);
        var ys = await data.Residents(y, 1);
        await data.Contract(xs[0], Status.Finished, "2025-01-01", "2025-12-31");
        await data.Contract(xs[1], Status.Finished, "2025-03-01", "2025-12-31");
        await data.Contract(ys[0], Status.Finished, "2025-01-01", "2025-12-31");
        await data.Encounter(xs[2], "2025-03-02T09:00:00Z", x);
        await data.Encounter(xs[2], "2025-04-02T09:00:00Z", x);
        var centre = await world.Server.ClientWith("ind-list-" + Guid.NewGuid().ToString("N")[..6], "system/*.rs");

        var report = await SubjectList(centre, "contracted-share", $"periodStart=2025&periodEnd=2025&reporter=Organization/{hospital}");
        var group = Group(report, "contracted");
        Assert.Equal((4, 3), (Count(group, "denominator"), Count(group, "numerator")));
        Assert.Equal(Refs(xs[0], xs[1], ys[0]), Members(report, group, "numerator"));
        Assert.Equal(Refs([.. xs, .. ys]), Members(report, group, "denominator"));
        var strata = Strata(group, "institution");
        Assert.Equal(Refs(xs[0], xs[1]), Members(report, strata[$"Organization/{x}"], "numerator"));
        Assert.Equal(Refs(ys[0]), Members(report, strata[$"Organization/{y}"], "numerator"));
        // the summary's counts are the same with or without the lists
        var summary = Group(await data.Evaluate("contracted-share", $"periodStart=2025&periodEnd=2025&reporter=Organization/{hospital}", centre), "contracted");
        Assert.Equal((Count(summary, "denominator"), Count(summary, "numerator")), (Count(group, "denominator"), Count(group, "numerator")));

        // a count of events lists each resident once: two encounters, one resident
        var care = await SubjectList(centre, "care-inside-group", $"periodStart=2025&periodEnd=2025&reporter=Organization/{x}");
        var inside = Group(care, "inside");
        Assert.Equal(2, Count(inside, "numerator"));
        Assert.Equal(Refs(xs[2]), Members(care, inside, "numerator"));

        // the access log names the residents a list showed
        var auditor = await world.Server.ClientWith("ind-list-audit-" + Guid.NewGuid().ToString("N")[..6], "system/AuditEvent.rs");
        var log = await (await auditor.GetAsync($"/fhir/AuditEvent?patient=Patient/{ys[0]}&entity=Measure/contracted-share")).ReadJson();
        Assert.NotEqual(0, log["entry"]?.AsArray().Count ?? 0);

        // another report type is a 400 naming it
        var individual = await centre.GetAsync("/fhir/Measure/contracted-share/$evaluate-measure?periodStart=2025&periodEnd=2025&reportType=individual");
        Assert.Equal(HttpStatusCode.BadRequest, individual.StatusCode);
        Assert.Contains(await individual.Issues(), i => i.Diagnostics.Contains("reportType"));
    }

    [Fact]
    public async Task An_institution_gets_no_subject_list_even_for_itself_or_with_break_glass()
    {
        var (_, x) = await data.Institutions();
        var xs = await data.Residents(x, 1);
        await data.Contract(xs[0], Status.Finished, "2025-01-01", "2025-12-31");
        var tag = Guid.NewGuid().ToString("N")[..6];
        var station = await world.Server.ClientWith("ind-list-x-" + tag, "system/*.rs", $"Organization/{x}", "clinician", "break-glass");
        var query = $"periodStart=2025&periodEnd=2025&reporter=Organization/{x}";
        Assert.Equal(HttpStatusCode.OK, (await station.GetAsync($"/fhir/Measure/contracted-share/$evaluate-measure?{query}")).StatusCode);
        var refused = await station.GetAsync($"/fhir/Measure/contracted-share/$evaluate-measure?{query}&reportType=subject-list");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        var body = await refused.Content.ReadAsStringAsync();
        Assert.Contains("subject-list", body);
        Assert.DoesNotContain(xs[0], body);
        using var glass = new HttpRequestMessage(HttpMethod.Get, $"/fhir/Measure/contracted-share/$evaluate-measure?{query}&reportType=subject-list");
        glass.Headers.Add("X-Break-Glass", "emergency");
        var withGlass = await station.SendAsync(glass);
        Assert.Equal(HttpStatusCode.Forbidden, withGlass.StatusCode);
        Assert.DoesNotContain(xs[0], await withGlass.Content.ReadAsStringAsync());
    }

    private static async Task<JsonObject> SubjectList(HttpClient client, string measure, string query)
    {
        var response = await client.GetAsync($"/fhir/Measure/{measure}/$evaluate-measure?{query}&reportType=subject-list");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var report = await response.ReadJson();
        Assert.Equal("subject-list", report["type"]!.GetValue<string>());
        return report;
    }

    private static string[] Refs(params string[] ids) => [.. ids.Select(id => "Patient/" + id).Order(StringComparer.Ordinal)];

    // The residents of a population of a group or stratum: its subjectResults, a contained List.
    private static string[] Members(JsonObject report, JsonNode groupOrStratum, string population)
    {
        var at = groupOrStratum["population"]!.AsArray().Single(p => p!["code"]!["coding"]![0]!["code"]!.GetValue<string>() == population)!;
        var id = at["subjectResults"]!["reference"]!.GetValue<string>().TrimStart('#');
        var list = report["contained"]!.AsArray().Single(c => c!["id"]!.GetValue<string>() == id)!;
        return [.. (list["entry"]?.AsArray() ?? []).Select(e => e!["item"]!["reference"]!.GetValue<string>()).Order(StringComparer.Ordinal)];
    }
}
