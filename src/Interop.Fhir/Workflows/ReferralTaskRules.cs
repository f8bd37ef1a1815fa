using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Transactions;
using TaskStatus = Hl7.Fhir.Model.Task.TaskStatus;

namespace Interop.Fhir.Workflows;

/// <summary>
/// The referral gateway's state machine on the ReferralTask (a Task to fulfil a referral ServiceRequest). A task
/// starts requested (or as a draft); the receiving institution (the owner) accepts or rejects it, starts and
/// completes it; the requester may cancel it before it is accepted. Any other change of status is 409 naming the
/// allowed ones. Rejecting and cancelling need a statusReason. Each change is a version of the task, stamped
/// with lastModified (the task-accepted extension on acceptance, executionPeriod when work starts and ends): the task's history records who changed it,
/// when and why.
/// </summary>
public sealed class ReferralTaskRules(RuleReads reads) : IWriteRule
{
    public static readonly IReadOnlyDictionary<TaskStatus, TaskStatus[]> Transitions = new Dictionary<TaskStatus, TaskStatus[]>
    {
        [TaskStatus.Draft] = [TaskStatus.Requested, TaskStatus.Cancelled],
        [TaskStatus.Requested] = [TaskStatus.Accepted, TaskStatus.Rejected, TaskStatus.Cancelled],
        [TaskStatus.Accepted] = [TaskStatus.InProgress],
        [TaskStatus.InProgress] = [TaskStatus.Completed],
    };

    private static readonly TaskStatus[] Starts = [TaskStatus.Draft, TaskStatus.Requested];
    private static readonly TaskStatus[] OwnersMoves = [TaskStatus.Accepted, TaskStatus.Rejected, TaskStatus.InProgress, TaskStatus.Completed];

    public bool Governs(string type) => type == "Task";

    public async System.Threading.Tasks.Task Check(RuleWrite write, CancellationToken ct)
    {
        if (write.Resource is not Hl7.Fhir.Model.Task task || !GroupCodes.IsReferralTask(task)) return;
        var previous = write.Before as Hl7.Fhir.Model.Task;
        var now = new FhirDateTime(DateTimeOffset.UtcNow);
        if (previous is null || !GroupCodes.IsReferralTask(previous))
        {
            if (!write.Trusted && (task.Status is not { } status || !Starts.Contains(status)))
                throw FhirException.Conflict($"A referral task starts as requested (or draft), not {Code(task.Status)}: allowed are {string.Join(", ", Starts.Select(s => Code(s)))}.");
            await CheckReferral(write, task, ct);
            if (!write.Trusted) { task.AuthoredOnElement ??= now; task.LastModifiedElement = now; }
            return;
        }
        foreach (var (name, before, after) in new[] { ("basedOn", previous.BasedOn.FirstOrDefault(), task.BasedOn.FirstOrDefault()), ("for", previous.For, task.For), ("requester", previous.Requester, task.Requester) })
            if (RuleReads.Key(before, write.BaseUrl) != RuleReads.Key(after, write.BaseUrl))
                throw ContractRules.Rule($"A referral task's {name} cannot change ({before?.Reference} → {after?.Reference}).", $"Task.{name}");
        var (from, to) = (previous.Status, task.Status);
        if (from == to) return;
        var allowed = from is { } f && Transitions.TryGetValue(f, out var next) ? next : [];
        if (to is not { } target || !allowed.Contains(target))
            throw FhirException.Conflict($"Task/{task.Id} cannot go from {Code(from)} to {Code(to)}: " +
                (allowed.Length == 0 ? $"{Code(from)} is final." : $"from {Code(from)} it may go to {string.Join(", ", allowed.Select(s => Code(s)))}."));
        if (!write.Trusted && write.Writer.Institution is { } institution)
        {
            var party = OwnersMoves.Contains(target) ? ("owner", previous.Owner) : ("requester", previous.Requester);
            if (!await ActsFor(write, party.Item2, institution, ct))
                throw FhirException.Forbidden($"Only the task's {party.Item1} ({party.Item2?.Reference}) may move it to {Code(to)}; {institution} is not.");
        }
        if (target is TaskStatus.Rejected or TaskStatus.Cancelled && task.StatusReason is null or { Text: null, Coding.Count: 0 })
            throw ContractRules.Rule($"Moving a referral task to {Code(to)} needs the reason in Task.statusReason.", "Task.statusReason");
        task.LastModifiedElement = now;
        if (target == TaskStatus.Accepted) { task.Extension.RemoveAll(x => x.Url == GroupCodes.TaskAccepted); task.Extension.Add(new Extension(GroupCodes.TaskAccepted, now)); }
        if (target == TaskStatus.InProgress) (task.ExecutionPeriod ??= new Period()).StartElement ??= now;
        if (target == TaskStatus.Completed) { task.ExecutionPeriod ??= new Period(); task.ExecutionPeriod.StartElement ??= now; task.ExecutionPeriod.EndElement = now; }
    }

    // The task is addressed as its referral is: the same resident, owned by one of the referral's performers.
    private async System.Threading.Tasks.Task CheckReferral(RuleWrite write, Hl7.Fhir.Model.Task task, CancellationToken ct)
    {
        var key = RuleReads.Key(task.BasedOn[0], write.BaseUrl);
        if (await reads.Read(write, key, ct) is not ServiceRequest referral)
            throw ContractRules.Rule($"The referral task is based on {task.BasedOn[0].Reference}, which does not exist.", "Task.basedOn[0]");
        if (RuleReads.Key(referral.Subject, write.BaseUrl) is { } subject && RuleReads.Key(task.For, write.BaseUrl) != subject)
            throw ContractRules.Rule($"The task is for {task.For?.Reference} but the referral {key} is for {subject}.", "Task.for");
        var owner = RuleReads.Key(task.Owner, write.BaseUrl);
        if (referral.Performer.Count > 0 && !referral.Performer.Any(p => RuleReads.Key(p, write.BaseUrl) == owner))
            throw ContractRules.Rule($"The task's owner {task.Owner?.Reference} is not a performer of the referral {key} ({string.Join(", ", referral.Performer.Select(p => p.Reference))}).", "Task.owner");
    }

    // Whether the institution is the party: the Organization itself, a PractitionerRole of it, or a Practitioner with a role there.
    private async Task<bool> ActsFor(RuleWrite write, ResourceReference? party, string institution, CancellationToken ct)
    {
        var key = RuleReads.Key(party, write.BaseUrl);
        if (key is null) return false;
        if (key == institution) return true;
        if (key.StartsWith("PractitionerRole/", StringComparison.Ordinal))
            return await reads.Read(write, key, ct) is PractitionerRole role && RuleReads.Key(role.Organization, write.BaseUrl) == institution;
        if (!key.StartsWith("Practitioner/", StringComparison.Ordinal)) return false;
        var roles = await reads.Search(write, "PractitionerRole", $"practitioner={key}&organization={institution}", r => r is PractitionerRole, ct, limit: 1);
        return roles.Count > 0;
    }

    private static string Code(TaskStatus? status) => status is { } s ? Hl7.Fhir.Utility.EnumUtility.GetLiteral(s) ?? s.ToString() : "(none)";
}
