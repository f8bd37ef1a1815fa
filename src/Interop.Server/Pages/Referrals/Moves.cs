using System.Text;
using Hl7.Fhir.Model;
using Interop.Fhir.Workflows;
using Interop.Server.Web;
using FhirTask = Hl7.Fhir.Model.Task;

namespace Interop.Server.Pages.Referrals;

/// <summary>
/// The worklist's actions, each one write through the API with the user's token — the server's state machine decides
/// (409 for a move it does not allow, 403 for the wrong institution, 422 without a reason, 412 when the task changed
/// since the page showed it). Nothing is checked here that the server does not check itself.
/// </summary>
public static class Moves
{
    public static readonly string[] Targets = ["accepted", "rejected", "in-progress", "completed", "cancelled"];
    private const string Profiles = "https://interop.example/fhir/StructureDefinition/";

    /// <summary>Moves the task, as it was at <paramref name="version"/>, to <paramref name="target"/> (with the reason for a rejection or cancellation).</summary>
    public static async Task<FhirTask> Move(PageApi api, string taskId, string version, string target, string? reason, CancellationToken ct)
    {
        var task = await api.Read<FhirTask>("Task/" + taskId, ct);
        task.Status = Hl7.Fhir.Utility.EnumUtility.ParseLiteral<FhirTask.TaskStatus>(target);
        if (!string.IsNullOrWhiteSpace(reason)) task.StatusReason = new CodeableConcept { Text = reason.Trim() };
        return (FhirTask)await api.Send(HttpMethod.Put, "Task/" + taskId, task, version, ct);
    }

    /// <summary>
    /// Refers the resident back down to the institution that referred them up: one transaction of the discharge summary
    /// (a DocumentReference), the down-referral naming it in supportingInfo and based on the up-referral, and its task
    /// owned by that institution — completing the up-referral's task first when it is still in progress.
    /// </summary>
    public static async Task<FhirTask> ReferDown(PageApi api, Institutions institutions, string institution, string? practitioner,
        string taskId, string version, string summary, string? reason, CancellationToken ct)
    {
        var up = await api.Read<FhirTask>("Task/" + taskId, ct);
        var upReferral = await api.Read<ServiceRequest>(up.BasedOn.FirstOrDefault()?.Reference ?? "ServiceRequest/-", ct);
        var station = await institutions.Of(up.Requester, ct) ?? await institutions.Of(upReferral.Requester, ct)
            ?? throw new PageApiException(System.Net.HttpStatusCode.UnprocessableEntity, $"The institution that sent Task/{taskId} could not be found.");
        var now = new FhirDateTime(DateTimeOffset.UtcNow);
        var (docId, referralId) = ("urn:uuid:" + Guid.NewGuid(), "urn:uuid:" + Guid.NewGuid());
        var me = new ResourceReference(practitioner ?? institution);
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        if (up.Status == FhirTask.TaskStatus.InProgress)
        {
            up.Status = FhirTask.TaskStatus.Completed;
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                Resource = up,
                Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = "Task/" + taskId, IfMatch = $"W/\"{version}\"" },
            });
        }
        bundle.Entry.Add(Post(docId, new DocumentReference
        {
            Status = DocumentReferenceStatus.Current,
            Type = new CodeableConcept("http://loinc.org", "18842-5", "Discharge summary"),
            Subject = up.For,
            DateElement = new Instant(DateTimeOffset.UtcNow),
            Author = [me],
            Custodian = new ResourceReference(institution),
            Description = "Discharge summary",
            Content = [new DocumentReference.ContentComponent { Attachment = new Attachment { ContentType = "text/plain; charset=utf-8", Title = "Discharge summary", Data = Encoding.UTF8.GetBytes(summary.Trim()) } }],
        }));
        bundle.Entry.Add(Post(referralId, new ServiceRequest
        {
            Meta = new Meta { Profile = [Profiles + "referral"] },
            Extension = [new Extension(GroupCodes.ReferralDirection, new Code("down"))],
            Status = RequestStatus.Active,
            Intent = RequestIntent.Order,
            Priority = RequestPriority.Routine,
            Category = [new CodeableConcept("http://snomed.info/sct", "3457005", "Patient referral")],
            Code = new CodeableConcept { Text = "Referral back to the station for rehabilitation and follow-up" },
            Subject = up.For!,
            BasedOn = [new ResourceReference("ServiceRequest/" + upReferral.Id)],
            AuthoredOnElement = now,
            Requester = me,
            Performer = [new ResourceReference(station)],
            ReasonCode = [new CodeableConcept { Text = string.IsNullOrWhiteSpace(reason) ? "Follow-up after hospital treatment" : reason.Trim() }],
            SupportingInfo = [new ResourceReference(docId)],
        }));
        bundle.Entry.Add(Post("urn:uuid:" + Guid.NewGuid(), new FhirTask
        {
            Meta = new Meta { Profile = [Profiles + "referral-task"] },
            Status = FhirTask.TaskStatus.Requested,
            Intent = FhirTask.TaskIntent.Order,
            Priority = RequestPriority.Routine,
            Code = new CodeableConcept(GroupCodes.TaskCode, "fulfill", "Fulfill the focal request"),
            BasedOn = [new ResourceReference(referralId)],
            Focus = new ResourceReference(referralId),
            For = up.For,
            Requester = new ResourceReference(institution),
            Owner = new ResourceReference(station),
        }));
        var answer = (Bundle)await api.Send(HttpMethod.Post, "", bundle, ct);
        var location = answer.Entry.Last().Response?.Location ?? "";
        return new FhirTask { Id = location.Split('/').SkipWhile(p => p != "Task").Skip(1).FirstOrDefault() ?? "" };
    }

    private static Bundle.EntryComponent Post(string fullUrl, Resource resource) => new()
    {
        FullUrl = fullUrl,
        Resource = resource,
        Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = resource.TypeName },
    };
}
