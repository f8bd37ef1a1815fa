using Hl7.Fhir.Model;
using static Interop.Server.Seed.SeedFhir;
using FhirTask = Hl7.Fhir.Model.Task;

namespace Interop.Server.Seed;

/// <summary>
/// Dual referrals with their tasks: 10 % of the chronically ill and 2 % of the others have one. Two in three go up
/// (the GP refers to the station's hospital, with a priority), one in three down (a hospital physician refers back to
/// the station for rehabilitation and follow-up). The task is in every state: requested 15 %, accepted 15 %,
/// in-progress 15 %, completed 40 %, rejected 8 % and cancelled 7 % (both with a statusReason); its authoredOn,
/// lastModified and executionPeriod follow the state (open ones are recent).
/// </summary>
public static class Referrals
{
    private static readonly string[] UpReasons = ["Chest pain for cardiology assessment", "Suspected fracture after a fall", "Persistent abdominal pain", "Shortness of breath on exertion"];

    public static void Add(Resident r, GroupDirectory directory)
    {
        var rng = r.Rng;
        if (rng.NextDouble() >= (r.Chronic ? .10 : .02)) return;
        var up = rng.NextDouble() < 2.0 / 3;
        var state = Pick(rng, ("requested", 15.0), ("accepted", 15), ("in-progress", 15), ("completed", 40), ("rejected", 8), ("cancelled", 7));
        var open = state is "requested" or "accepted" or "in-progress";
        var authored = At(r.AsOf.AddDays(-(open ? rng.Next(3, 20) : rng.Next(30, 200))), 8 * 60 + rng.Next(9 * 60));
        var physicians = directory.HospitalPhysicians[r.HospitalId];
        var requester = up ? Ref("Practitioner", r.Team.GpId) : Ref("Practitioner", physicians[rng.Next(physicians.Count)]);
        var receiver = up ? r.HospitalId : r.StationId;
        var condition = r.Conditions.Values.FirstOrDefault();
        var request = new ServiceRequest
        {
            Id = $"{r.Id}-ref-1",
            Meta = Profile("referral"),
            Extension = [new Extension(IgBase + "StructureDefinition/referral-direction", new Code(up ? "up" : "down"))],
            Status = state switch
            {
                "completed" => RequestStatus.Completed,
                "rejected" or "cancelled" => RequestStatus.Revoked,
                _ => RequestStatus.Active,
            },
            Intent = RequestIntent.Order,
            Category = [Concept(Snomed, "3457005", "Patient referral")],
            Priority = up ? Pick(rng, (RequestPriority.Routine, 60.0), (RequestPriority.Urgent, 35), (RequestPriority.Asap, 5)) : null,
            Code = Text(up ? "Referral to a hospital outpatient clinic" : "Referral back to the station for rehabilitation and follow-up"),
            Subject = Ref("Patient", r.Id),
            AuthoredOnElement = new FhirDateTime(Instant(authored)),
            Requester = requester,
            Performer = [Ref("Organization", receiver)],
            ReasonCode = [Text(up ? (condition is null ? UpReasons[rng.Next(UpReasons.Length)] : "Condition poorly controlled in primary care") : "Follow-up after hospital treatment")],
            ReasonReference = condition is null ? [] : [Ref("Condition", condition)],
        };
        r.Resources.Add(request);
        r.Resources.Add(Task(r, request, state, authored, receiver));
    }

    private static FhirTask Task(Resident r, ServiceRequest request, string state, DateTimeOffset authored, string receiver)
    {
        var rng = r.Rng;
        var limit = At(r.AsOf, 8 * 60);
        DateTimeOffset Later(DateTimeOffset from, int maxMinutes) => Min(from.AddMinutes(rng.Next(20, maxMinutes)), limit);
        var created = authored.AddMinutes(1);
        var accepted = Later(created, 2 * 24 * 60);
        var started = Later(accepted, 5 * 24 * 60);
        var completed = Later(started, 14 * 24 * 60);
        var id = request.Id!;
        var task = new FhirTask
        {
            Id = id + "-task",
            Meta = Profile("referral-task"),
            BasedOn = [Ref("ServiceRequest", id)],
            Status = state switch
            {
                "requested" => FhirTask.TaskStatus.Requested, "accepted" => FhirTask.TaskStatus.Accepted,
                "in-progress" => FhirTask.TaskStatus.InProgress, "completed" => FhirTask.TaskStatus.Completed,
                "rejected" => FhirTask.TaskStatus.Rejected, _ => FhirTask.TaskStatus.Cancelled,
            },
            Intent = FhirTask.TaskIntent.Order,
            Priority = request.Priority,
            Code = Concept("http://hl7.org/fhir/CodeSystem/task-code", "fulfill", "Fulfill the focal request"),
            Focus = Ref("ServiceRequest", id),
            For = Ref("Patient", r.Id),
            AuthoredOn = Instant(created),
            Requester = request.Requester,
            Owner = Ref("Organization", receiver),
        };
        (task.LastModified, task.ExecutionPeriod, task.StatusReason) = state switch
        {
            "requested" => (Instant(created), (Period?)null, (CodeableConcept?)null),
            "accepted" => (Instant(accepted), new Period { Start = Instant(accepted) }, null),
            "in-progress" => (Instant(started), new Period { Start = Instant(started) }, null),
            "completed" => (Instant(completed), new Period { Start = Instant(started), End = Instant(completed) }, null),
            "rejected" => (Instant(accepted), null, Text("No capacity at the receiving department; refer elsewhere")),
            _ => (Instant(accepted), null, Text("The resident declined the referral")),
        };
        if (state is "accepted" or "in-progress" or "completed")
            task.Extension.Add(new Extension("https://interop.example/fhir/StructureDefinition/task-accepted", new FhirDateTime(Instant(accepted))));
        return task;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
