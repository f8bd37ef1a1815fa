using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Workflows;

/// <summary>
/// The care-plan templates (PlanDefinitions in profiles/) and PlanDefinition/{id}/$apply: a draft IndividualCarePlan
/// that validates against its profile and is not stored; refusals; the access policy; the overdue-activity worklist.
/// </summary>
public sealed class CarePlanTests(GroupWorld world) : IClassFixture<GroupWorld>
{
    private const string Profile = "https://interop.example/fhir/StructureDefinition/individual-care-plan";

    [Fact]
    public async Task The_three_templates_are_loaded_at_start()
    {
        foreach (var id in new[] { "hypertension-care-plan", "type-2-diabetes-care-plan", "severe-mental-illness-care-plan" })
        {
            var plan = await (await world.Admin.GetAsync($"/fhir/PlanDefinition/{id}")).ReadResource<PlanDefinition>();
            Assert.True(plan.Action.Count >= 3, id);
            Assert.All(plan.Action, a => Assert.NotNull(((Timing)a.Timing).Repeat.Period));
        }
    }

    [Fact]
    public async Task Apply_makes_a_draft_care_plan_that_validates_against_the_profile_and_is_not_stored()
    {
        var resident = await CareData.Contracted(world);
        var condition = await world.Station1Client.CreateId(CareData.Diabetes(resident));
        var response = await world.Station1Client.GetAsync($"/fhir/PlanDefinition/type-2-diabetes-care-plan/$apply?subject=Patient/{resident}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var plan = await response.ReadResource<CarePlan>();
        Assert.Null(plan.Id);
        Assert.Equal(RequestStatus.Draft, plan.Status);
        Assert.Equal([$"Condition/{condition}"], plan.Addresses.Select(a => a.Reference));
        Assert.Equal([$"CareTeam/{world.Team1}"], plan.CareTeam.Select(a => a.Reference));
        Assert.Equal(GroupWorld.Today(0), plan.Period.Start);
        Assert.Equal(4, plan.Activity.Count);
        Assert.All(plan.Activity, a => Assert.Equal(CarePlan.CarePlanActivityStatus.Scheduled, a.Detail.Status));
        var hba1c = plan.Activity.Single(a => a.Detail.Code.Coding.Any(c => c.Code == "4548-4"));
        Assert.Equal(DateTimeOffset.UtcNow.AddHours(8).Date.AddMonths(3).ToString("yyyy-MM-dd"), ((Timing)hba1c.Detail.Scheduled).Event.Single());
        Assert.Equal(CarePlan.CarePlanActivityKind.Appointment, plan.Activity.Single(a => a.Detail.Code.Coding.Any(c => c.Code == "185389009")).Detail.Kind);

        var check = await world.Station1Client.PostAsync($"/fhir/CarePlan/$validate?profile={Profile}", FhirTest.Body(plan));
        var outcome = await check.ReadResource<OperationOutcome>();
        Assert.DoesNotContain(outcome.Issue, i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal);
        var stored = await (await world.Admin.GetAsync($"/fhir/CarePlan?subject=Patient/{resident}&_total=accurate")).ReadJson();
        Assert.Equal(0, stored["total"]!.GetValue<int>());
        // POST with Parameters, then the station stores it as active
        var body = new Parameters();
        body.Add("subject", new FhirString($"Patient/{resident}"));
        var posted = await world.Station1Client.PostAsync("/fhir/PlanDefinition/type-2-diabetes-care-plan/$apply", FhirTest.Body(body));
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        plan.Status = RequestStatus.Active;
        Assert.Equal(HttpStatusCode.Created, (await world.Station1Client.PostAsync("/fhir/CarePlan", FhirTest.Body(plan))).StatusCode);
    }

    [Fact]
    public async Task A_resident_without_a_condition_of_the_kind_is_422_and_bad_subjects_400()
    {
        var resident = await CareData.Contracted(world);
        await world.Station1Client.CreateId(CareData.Hypertension(resident));
        var none = await world.Station1Client.GetAsync($"/fhir/PlanDefinition/severe-mental-illness-care-plan/$apply?subject=Patient/{resident}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, none.StatusCode);
        Assert.Equal("Condition.code", (await none.Issues())[0].Expression);
        foreach (var query in new[] { "", "?subject=Group/1", $"?subject=Patient/{resident}&subject=Patient/{resident}" })
        {
            var bad = await world.Station1Client.GetAsync($"/fhir/PlanDefinition/hypertension-care-plan/$apply{query}");
            Assert.True(bad.StatusCode == HttpStatusCode.BadRequest, query);
            Assert.Equal("subject", (await bad.Issues())[0].Expression);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await world.Admin.GetAsync($"/fhir/PlanDefinition/no-such-plan/$apply?subject=Patient/{resident}")).StatusCode);
    }

    [Fact]
    public async Task An_institution_without_a_care_relationship_gets_403()
    {
        var resident = await CareData.Contracted(world);
        await world.Station1Client.CreateId(CareData.Hypertension(resident));
        var response = await world.Station2Client.GetAsync($"/fhir/PlanDefinition/hypertension-care-plan/$apply?subject=Patient/{resident}");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task The_overdue_worklist_finds_an_active_plan_with_an_open_activity_due_before_today_and_not_a_done_one()
    {
        var resident = await CareData.Contracted(world);
        await world.Station1Client.CreateId(CareData.Hypertension(resident));
        var plan = await (await world.Station1Client.GetAsync($"/fhir/PlanDefinition/hypertension-care-plan/$apply?subject=Patient/{resident}")).ReadResource<CarePlan>();
        plan.Status = RequestStatus.Active;
        var onTime = await world.Station1Client.CreateId(plan);
        ((Timing)plan.Activity[1].Detail.Scheduled).Event = [GroupWorld.Today(-3)];
        var late = await world.Station1Client.CreateId(plan);
        ((Timing)plan.Activity[1].Detail.Scheduled).Event = [GroupWorld.Today(-5)];
        plan.Activity[1].Detail.Status = CarePlan.CarePlanActivityStatus.Completed; // done, its due date not moved: not overdue
        var done = await world.Station1Client.CreateId(plan);
        var overdue = await (await world.Station1Client.GetAsync($"/fhir/CarePlan?subject=Patient/{resident}&status=active&activity-due=lt{GroupWorld.Today(0)}")).ReadJson();
        Assert.Equal([late], TestData.Matches(overdue));
        Assert.NotEqual(onTime, late);
        // R4's activity-date matches any activity, done or not
        var any = await (await world.Station1Client.GetAsync($"/fhir/CarePlan?subject=Patient/{resident}&status=active&activity-date=lt{GroupWorld.Today(0)}")).ReadJson();
        Assert.Equal(new[] { late, done }.Order(), TestData.Matches(any).Order());
    }
}
