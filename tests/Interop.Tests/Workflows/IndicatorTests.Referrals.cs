using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;
using static Interop.Tests.Workflows.IndicatorData;
using TaskStatus = Hl7.Fhir.Model.Task.TaskStatus;

namespace Interop.Tests.Workflows;

/// <summary>The referral indicator: referrals up and down per month, and the median time to accept.</summary>
public sealed partial class IndicatorTests
{
    // A referral (authored at the given time) and its task (authored hoursAgo hours ago), in one transaction; returns the task's id.
    private async Task<string> Refer(string patient, string direction, string authored, double hoursAgo)
    {
        var referral = new ServiceRequest
        {
            Status = RequestStatus.Active, Intent = RequestIntent.Order, Subject = GroupWorld.Ref("Patient", patient),
            Extension = [new Extension("https://interop.example/fhir/StructureDefinition/referral-direction", new Code(direction))],
            Category = [new CodeableConcept("http://snomed.info/sct", "3457005")], Priority = direction == "up" ? RequestPriority.Urgent : null,
            Requester = GroupWorld.Ref("Organization", world.Station1), Performer = [GroupWorld.Ref("Organization", world.Hospital)],
            ReasonCode = [new CodeableConcept { Text = "follow-up" }], AuthoredOn = authored,
        };
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = "urn:uuid:" + Guid.NewGuid(), Resource = referral, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "ServiceRequest" } });
        if (direction == "down") referral.SupportingInfo = [new ResourceReference(await ReferralTests.DischargeSummary(data.Admin, patient))];
        bundle.Entry.Add(new Bundle.EntryComponent
        {
            Resource = new Hl7.Fhir.Model.Task
            {
                Status = TaskStatus.Requested, Intent = Hl7.Fhir.Model.Task.TaskIntent.Order, Priority = RequestPriority.Urgent,
                Code = new CodeableConcept("http://hl7.org/fhir/CodeSystem/task-code", "fulfill"), BasedOn = [new ResourceReference(bundle.Entry[0].FullUrl)],
                For = GroupWorld.Ref("Patient", patient), Requester = GroupWorld.Ref("Organization", world.Station1), Owner = GroupWorld.Ref("Organization", world.Hospital),
                AuthoredOnElement = new FhirDateTime(DateTimeOffset.UtcNow.AddHours(-hoursAgo)),
            },
            Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Task" },
        });
        var response = await data.Admin.PostAsync("/fhir", FhirTest.Body(bundle));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var location = (await response.ReadResource<Bundle>()).Entry[1].Response.Location.Split('/');
        return location[Array.IndexOf(location, "Task") + 1];
    }

    private async System.Threading.Tasks.Task Accept(string task)
    {
        var current = await (await world.HospitalClient.GetAsync($"/fhir/Task/{task}")).ReadResource<Hl7.Fhir.Model.Task>();
        current.Status = TaskStatus.Accepted;
        var response = await world.HospitalClient.PutAsync($"/fhir/Task/{task}", FhirTest.Body(current));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Referrals_up_and_down_per_month_with_the_median_time_to_accept()
    {
        var (_, station) = await data.Institutions();
        var r = await data.Residents(station, 2);
        var year = DateTimeOffset.UtcNow.Year;
        var up1 = await Refer(r[0], "up", $"{year}-01-10T08:00:00Z", 10);
        var up2 = await Refer(r[1], "up", $"{year}-02-10T08:00:00Z", 30);
        await Refer(r[1], "down", $"{year}-02-11T08:00:00Z", 5);     // not accepted: no time to accept
        await Refer(r[0], "down", $"{year - 1}-12-31T08:00:00Z", 4000); // the year before (task too)
        await Accept(up1); await Accept(up2);
        var report = await data.Evaluate("referrals", $"periodStart={year}&periodEnd={year}&reporter=Organization/{station}");
        var (up, down, time) = (Group(report, "up"), Group(report, "down"), Group(report, "time-to-accept"));
        Assert.Equal((2, 1), (Count(up, "initial-population"), Count(down, "initial-population")));
        var months = Strata(up, "month");
        Assert.Equal((1, 1), (Count(months[$"{year}-01"], "initial-population"), Count(months[$"{year}-02"], "initial-population")));
        Assert.Equal(1, Count(Strata(down, "month")[$"{year}-02"], "initial-population"));
        Assert.Equal(2, Count(time, "measure-population"));
        Assert.InRange(Score(time)!.Value, 19.9m, 20.2m); // median of ~10 h and ~30 h
        Assert.Equal("h", time["measureScore"]!["code"]!.GetValue<string>());
        Assert.Equal(2, Count(Strata(time, "direction")["up"], "measure-population"));
    }
}
