using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;
using TaskStatus = Hl7.Fhir.Model.Task.TaskStatus;

namespace Interop.Tests.Workflows;

/// <summary>
/// The two-way referral gateway: a Referral ServiceRequest and its ReferralTask, moved through the state machine by
/// the two institutions' own clients; every invalid transition, actor and missing reason refused; the worklists.
/// </summary>
public sealed class ReferralTests(GroupWorld world) : IClassFixture<GroupWorld>
{
    private const string Direction = "https://interop.example/fhir/StructureDefinition/referral-direction";

    private ServiceRequest Referral(string patient, string direction, string from, string to) => new()
    {
        Status = RequestStatus.Active, Intent = RequestIntent.Order, Subject = GroupWorld.Ref("Patient", patient),
        Extension = [new Extension(Direction, new Code(direction))],
        Category = [new CodeableConcept("http://snomed.info/sct", "3457005")],
        Priority = direction == "up" ? RequestPriority.Urgent : null,
        Requester = GroupWorld.Ref("Organization", from), Performer = [GroupWorld.Ref("Organization", to)],
        ReasonCode = [new CodeableConcept { Text = direction == "up" ? "uncontrolled hypertension" : "rehabilitation after stroke" }],
    };

    private static Hl7.Fhir.Model.Task TaskFor(string referral, string patient, string from, string to, RequestPriority priority = RequestPriority.Urgent, TaskStatus status = TaskStatus.Requested) => new()
    {
        Status = status, Intent = Hl7.Fhir.Model.Task.TaskIntent.Order, Priority = priority,
        Code = new CodeableConcept("http://hl7.org/fhir/CodeSystem/task-code", "fulfill"),
        BasedOn = [new ResourceReference(referral)], For = GroupWorld.Ref("Patient", patient),
        Requester = GroupWorld.Ref("Organization", from), Owner = GroupWorld.Ref("Organization", to),
    };

    /// <summary>A discharge summary (DocumentReference) about the resident, stored; returns its reference.</summary>
    public static async Task<string> DischargeSummary(HttpClient client, string patient) => "DocumentReference/" + await client.CreateId(new DocumentReference
    {
        Status = DocumentReferenceStatus.Current, Subject = GroupWorld.Ref("Patient", patient),
        Type = new CodeableConcept("http://loinc.org", "18842-5", "Discharge summary"),
        Content = [new DocumentReference.ContentComponent { Attachment = new Attachment { ContentType = "text/plain", Data = "Discharged; rehabilitation at the station."u8.ToArray() } }],
    });

    // A referral and its task in one transaction, by the sending institution's client; returns the task's id.
    private async Task<string> Refer(HttpClient sender, string patient, string direction, string from, string to, RequestPriority priority = RequestPriority.Urgent)
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = "urn:uuid:" + Guid.NewGuid(), Resource = Referral(patient, direction, from, to), Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "ServiceRequest" } });
        bundle.Entry.Add(new Bundle.EntryComponent { Resource = TaskFor(bundle.Entry[0].FullUrl, patient, from, to, priority), Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Task" } });
        var response = await sender.PostAsync("/fhir", FhirTest.Body(bundle));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return IdIn((await response.ReadResource<Bundle>()).Entry[1].Response.Location);
    }

    // "…/Task/{id}/_history/1" → id
    private static string IdIn(string location)
    {
        var parts = location.Split('/');
        return parts[Array.IndexOf(parts, "Task") + 1];
    }

    private static async Task<(HttpResponseMessage Response, Hl7.Fhir.Model.Task? Task)> Move(HttpClient client, string id, TaskStatus to, string? reason = null)
    {
        var task = await (await client.GetAsync($"/fhir/Task/{id}")).ReadResource<Hl7.Fhir.Model.Task>();
        task.Status = to;
        if (reason is not null) task.StatusReason = new CodeableConcept { Text = reason };
        var response = await client.PutAsync($"/fhir/Task/{id}", FhirTest.Body(task));
        return (response, response.IsSuccessStatusCode ? await response.ReadResource<Hl7.Fhir.Model.Task>() : null);
    }

    private static async Task Expect(HttpStatusCode status, Task<(HttpResponseMessage Response, Hl7.Fhir.Model.Task? Task)> move)
    {
        var (response, _) = await move;
        Assert.True(response.StatusCode == status, $"expected {status}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task Up_and_down_the_whole_cycle_between_a_station_and_a_hospital()
    {
        var resident = await world.Resident();
        var up = await Refer(world.Station1Client, resident, "up", world.Station1, world.Hospital);
        // the sender cannot accept for the hospital; the hospital accepts, starts, completes
        await Expect(HttpStatusCode.Forbidden, Move(world.Station1Client, up, TaskStatus.Accepted));
        var (_, accepted) = await Move(world.HospitalClient, up, TaskStatus.Accepted);
        Assert.Contains(accepted!.Extension, x => x.Url == "https://interop.example/fhir/StructureDefinition/task-accepted");
        Assert.Equal([up], TestData.Matches(await (await world.Admin.GetAsync($"/fhir/Task?_id={up}&accepted=ge{GroupWorld.Today(-1)}")).ReadJson()));
        var (_, started) = await Move(world.HospitalClient, up, TaskStatus.InProgress);
        Assert.NotNull(started!.ExecutionPeriod?.Start);
        // completing the up-referral creates the down-referral in the same transaction
        var done = await (await world.HospitalClient.GetAsync($"/fhir/Task/{up}")).ReadResource<Hl7.Fhir.Model.Task>();
        done.Status = TaskStatus.Completed;
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        bundle.Entry.Add(new Bundle.EntryComponent { Resource = done, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = $"Task/{up}" } });
        var downReferral = Referral(resident, "down", world.Hospital, world.Station1);
        downReferral.SupportingInfo = [new ResourceReference(await DischargeSummary(world.HospitalClient, resident))];
        bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = "urn:uuid:" + Guid.NewGuid(), Resource = downReferral, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "ServiceRequest" } });
        bundle.Entry.Add(new Bundle.EntryComponent { Resource = TaskFor(bundle.Entry[1].FullUrl, resident, world.Hospital, world.Station1, RequestPriority.Routine), Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Task" } });
        var completed = await world.HospitalClient.PostAsync("/fhir", FhirTest.Body(bundle));
        Assert.True(completed.StatusCode == HttpStatusCode.OK, await completed.Content.ReadAsStringAsync());
        var down = IdIn((await completed.ReadResource<Bundle>()).Entry[2].Response.Location);
        var closed = await (await world.HospitalClient.GetAsync($"/fhir/Task/{up}")).ReadResource<Hl7.Fhir.Model.Task>();
        Assert.Equal(TaskStatus.Completed, closed.Status);
        Assert.NotNull(closed.ExecutionPeriod.End);
        // the station takes the down-referral through its own states
        await Expect(HttpStatusCode.Forbidden, Move(world.HospitalClient, down, TaskStatus.Accepted));
        foreach (var step in new[] { TaskStatus.Accepted, TaskStatus.InProgress, TaskStatus.Completed })
            await Expect(HttpStatusCode.OK, Move(world.Station1Client, down, step));
        // the task's history records each transition, who made it and when
        var history = await (await world.Admin.GetAsync($"/fhir/Task/{up}/_history")).ReadResource<Bundle>();
        Assert.Equal(["completed", "in-progress", "accepted", "requested"], history.Entry.Select(e => ((Hl7.Fhir.Model.Task)e.Resource).Status!.Value).Select(s => Hl7.Fhir.Utility.EnumUtility.GetLiteral(s)));
        Assert.All(history.Entry, e => Assert.NotNull(((Hl7.Fhir.Model.Task)e.Resource).LastModified));
    }

    [Fact]
    public async Task An_invalid_transition_is_409_naming_the_allowed_ones_and_final_states_stay()
    {
        var id = await Refer(world.Station1Client, await world.Resident(), "up", world.Station1, world.Hospital);
        var (skip, _) = await Move(world.HospitalClient, id, TaskStatus.Completed);
        Assert.Equal(HttpStatusCode.Conflict, skip.StatusCode);
        var said = (await skip.Issues())[0].Diagnostics;
        Assert.Contains("from requested it may go to accepted, rejected, cancelled", said);
        // rejecting needs a reason; a rejected task is final
        var (bare, _) = await Move(world.HospitalClient, id, TaskStatus.Rejected);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bare.StatusCode);
        Assert.Equal("Task.statusReason", (await bare.Issues())[0].Expression);
        await Expect(HttpStatusCode.OK, Move(world.HospitalClient, id, TaskStatus.Rejected, "no cardiology beds; refer to hospital 2"));
        var (again, _) = await Move(world.HospitalClient, id, TaskStatus.Accepted);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("rejected is final", (await again.Issues())[0].Diagnostics);
        // a PATCH of the status is held to the same machine
        var patch = new HttpRequestMessage(HttpMethod.Patch, $"/fhir/Task/{id}") { Content = FhirTest.Body("""[{"op":"replace","path":"/status","value":"in-progress"}]""", "application/json-patch+json") };
        Assert.Equal(HttpStatusCode.Conflict, (await world.HospitalClient.SendAsync(patch)).StatusCode);
    }

    [Fact]
    public async Task Only_the_requester_cancels_and_only_before_acceptance()
    {
        var id = await Refer(world.Station1Client, await world.Resident(), "up", world.Station1, world.Hospital);
        await Expect(HttpStatusCode.Forbidden, Move(world.HospitalClient, id, TaskStatus.Cancelled, "not ours to cancel"));
        await Expect(HttpStatusCode.UnprocessableEntity, Move(world.Station1Client, id, TaskStatus.Cancelled));
        await Expect(HttpStatusCode.OK, Move(world.Station1Client, id, TaskStatus.Cancelled, "the resident recovered"));
        var other = await Refer(world.Station1Client, await world.Resident(), "up", world.Station1, world.Hospital);
        await Expect(HttpStatusCode.OK, Move(world.HospitalClient, other, TaskStatus.Accepted));
        await Expect(HttpStatusCode.Conflict, Move(world.Station1Client, other, TaskStatus.Cancelled, "too late"));
    }

    [Fact]
    public async Task A_task_starts_requested_for_the_referrals_resident_and_performer()
    {
        var resident = await world.Resident();
        var referral = await world.Station1Client.CreateId(Referral(resident, "up", world.Station1, world.Hospital));
        var created = await world.Station1Client.PostAsync("/fhir/Task", FhirTest.Body(TaskFor($"ServiceRequest/{referral}", resident, world.Station1, world.Hospital, status: TaskStatus.Accepted)));
        Assert.Equal(HttpStatusCode.Conflict, created.StatusCode);
        Assert.Contains("starts as requested", (await created.Issues())[0].Diagnostics);
        var wrongOwner = await world.Station1Client.PostAsync("/fhir/Task", FhirTest.Body(TaskFor($"ServiceRequest/{referral}", resident, world.Station1, world.Station2)));
        Assert.Equal("Task.owner", (await wrongOwner.Issues())[0].Expression);
        var wrongResident = await world.Station1Client.PostAsync("/fhir/Task", FhirTest.Body(TaskFor($"ServiceRequest/{referral}", await world.Resident(), world.Station1, world.Hospital)));
        Assert.Equal("Task.for", (await wrongResident.Issues())[0].Expression);
        var nothing = await world.Station1Client.PostAsync("/fhir/Task", FhirTest.Body(TaskFor("ServiceRequest/not-there", resident, world.Station1, world.Hospital)));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, nothing.StatusCode);
        var ok = await world.Station1Client.PostAsync("/fhir/Task", FhirTest.Body(TaskFor($"ServiceRequest/{referral}", resident, world.Station1, world.Hospital)));
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        var stored = await ok.ReadResource<Hl7.Fhir.Model.Task>();
        Assert.NotNull(stored.AuthoredOn);
        Assert.NotNull(stored.LastModified);
    }

    [Fact]
    public async Task Worklists_incoming_by_priority_then_age_and_outgoing_with_state()
    {
        var receiver = await world.Admin.CreateId(new Organization { Name = "Receiving " + Guid.NewGuid().ToString("N")[..6], Type = [new CodeableConcept(GroupWorld.Kind, "hospital")] });
        var resident = await world.Resident();
        async Task<string> Send(RequestPriority priority)
        {
            var referral = await world.Admin.CreateId(Referral(resident, "up", world.Station2, receiver));
            return await world.Admin.CreateId(TaskFor($"ServiceRequest/{referral}", resident, world.Station2, receiver, priority));
        }
        var routine = await Send(RequestPriority.Routine);
        var stat = await Send(RequestPriority.Stat);
        var urgentOld = await Send(RequestPriority.Urgent);
        var urgentNew = await Send(RequestPriority.Urgent);
        var incoming = await (await world.Admin.GetAsync($"/fhir/Task?owner=Organization/{receiver}&status=requested,accepted,in-progress&_sort=-priority,authored-on")).ReadJson();
        Assert.Equal([stat, urgentOld, urgentNew, routine], TestData.Matches(incoming));
        var outgoing = await (await world.Admin.GetAsync($"/fhir/Task?requester=Organization/{world.Station2}&owner=Organization/{receiver}&_elements=status,priority&_sort=-_lastUpdated")).ReadJson();
        Assert.Equal(4, TestData.Matches(outgoing).Count);
    }

    [Fact]
    public async Task Another_institution_sees_neither_a_residents_referral_task_nor_anyones_subscription()
    {
        var resident = await world.Resident();
        var task = await Refer(world.Station1Client, resident, "up", world.Station1, world.Hospital);
        Assert.Equal(HttpStatusCode.OK, (await world.HospitalClient.GetAsync($"/fhir/Task/{task}")).StatusCode); // addressed to it
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Station2Client.GetAsync($"/fhir/Task/{task}")).StatusCode);
        Assert.Empty(TestData.Matches(await (await world.Station2Client.GetAsync($"/fhir/Task?_id={task}")).ReadJson()));
        Assert.Empty(TestData.Matches(await (await world.Station2Client.GetAsync($"/fhir/Task?owner=Organization/{world.Hospital}&patient=Patient/{resident}")).ReadJson()));
        var subscription = new Subscription
        {
            Status = Subscription.SubscriptionStatus.Requested, Reason = "incoming referrals", Criteria = $"Task?owner=Organization/{world.Hospital}",
            Channel = new Subscription.ChannelComponent { Type = Subscription.SubscriptionChannelType.RestHook, Endpoint = "http://127.0.0.1:9/hook", Header = ["X-Api-Key: secret-of-the-hospital"] },
        };
        var id = await world.HospitalClient.CreateId(subscription);
        Assert.Equal(HttpStatusCode.OK, (await world.HospitalClient.GetAsync($"/fhir/Subscription/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Station2Client.GetAsync($"/fhir/Subscription/{id}")).StatusCode);
        var found = await (await world.Station2Client.GetAsync("/fhir/Subscription?_count=1000")).Content.ReadAsStringAsync();
        Assert.DoesNotContain("secret-of-the-hospital", found);
    }

    [Fact]
    public async Task A_down_referral_carries_the_residents_discharge_summary()
    {
        var resident = await world.Resident();
        var bare = await world.HospitalClient.PostAsync("/fhir/ServiceRequest", FhirTest.Body(Referral(resident, "down", world.Hospital, world.Station1)));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bare.StatusCode);
        Assert.Equal("ServiceRequest.supportingInfo", (await bare.Issues())[0].Expression);
        var someoneElses = Referral(resident, "down", world.Hospital, world.Station1);
        someoneElses.SupportingInfo = [new ResourceReference(await DischargeSummary(world.Admin, await world.Resident()))];
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await world.HospitalClient.PostAsync("/fhir/ServiceRequest", FhirTest.Body(someoneElses))).StatusCode);
        var carried = Referral(resident, "down", world.Hospital, world.Station1);
        carried.SupportingInfo = [new ResourceReference(await DischargeSummary(world.Admin, resident))]; // (the hospital's stay, recorded by its EMR)
        Assert.Equal(HttpStatusCode.Created, (await world.HospitalClient.PostAsync("/fhir/ServiceRequest", FhirTest.Body(carried))).StatusCode);
        // an up-referral needs none
        Assert.Equal(HttpStatusCode.Created, (await world.Station1Client.PostAsync("/fhir/ServiceRequest", FhirTest.Body(Referral(resident, "up", world.Station1, world.Hospital)))).StatusCode);
    }
}
