using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Patients;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Storage;
using Microsoft.Extensions.Logging;

namespace Interop.Fhir.Security;

/// <summary>
/// The authorise stage's third check, the group's access policy: a client or user acting for an institution sees
/// a resident's data only while the institution cares for the resident (Storage/InstitutionAccess) and the
/// resident's consent does not refuse it; searches, history and $everything carry the policy into their SQL; a
/// direct read it may not see is a 403 that says why and how to break the glass. It changes only what it wrote
/// or what is addressed to it (Security/InstitutionWrites). Conditional writes and $match are matched under the policy in
/// their own SQL, and a conditional write's outcome is held to the write rules inside its transaction. $changes holds
/// only changes to what it may see now (Storage/ChangeFeedVisible), even with break-glass. Admins, callers acting for the whole group (no institution) and the server's own
/// tools are not limited by it; a break-glass caller passes it with a reason, logged for review.
/// </summary>
public sealed class InstitutionPolicyBehaviour(ResourceStore store, StorageOptions options, ILogger<InstitutionPolicyBehaviour> log) : IInteractionBehaviour
{
    public Stage Stage => Stage.Authorise;

    public async ValueTask Before(InteractionCall call, CancellationToken ct)
    {
        var caller = call.Context.Caller;
        if (caller.Unrestricted || caller.Institution is not { } institution || caller.Roles.Contains("admin")) return;
        if (call.Request.ReadsAccessLog) return; // Audit/AuditAccessBehaviour decides
        // Not even with break-glass, which opens one resident's record in an emergency, not lists of the group's residents.
        if (call.Request is EvaluateMeasureRequest { SubjectList: true })
            throw FhirException.Forbidden($"The residents behind the indicators (reportType=subject-list) are for the group's own systems: {institution} " +
                                          "may see its own numbers (reportType=summary) and find its residents by searching, which the access policy filters.");
        // Break-glass opens one resident's record, not the group's change feed: $changes stays filtered by the policy.
        if (call.Context.BreakGlass is { } reason && call.Request is not ChangesRequest)
        {
            log.LogWarning("Break-glass access by {Client} ({User}) for {Institution}: {Interaction} {Type}/{Id}; reason: {Reason}",
                caller.Client, caller.User, institution, call.Interaction, call.Request.ResourceType, call.Request.Id, reason);
            return;
        }
        var access = new InstitutionAccess(institution, DateTimeOffset.UtcNow.AddDays(-options.RelationshipDays), options.RelationshipDays, PatientScopeBehaviour.Members);
        var writes = new InstitutionWrites(store, access);
        switch (call.Request)
        {
            case SearchRequest search:
                search.Query.Policy = access;
                break;
            case HistoryRequest { Query: { Type: { } type, Id: { } id } }:
                await RequireVisible(type, id, access, ct);
                break;
            case HistoryRequest history:
                history.Query.Policy = access;
                break;
            case ReadRequest { Version: null } read:
                read.Policy = access; // checked in the read's own statement (one round trip)
                break;
            case ReadRequest read:
                await RequireVisible(read.Type, read.ResourceId, access, ct);
                break;
            case EverythingRequest everything:
                await RequireVisible("Patient", everything.PatientId, access, ct);
                everything.Policy = access;
                break;
            case CreateRequest create:
                create.MatchPolicy = writes; // a conditional create's match, and conditional references, run under the policy
                if (create.IfNoneExist is null) await writes.RequireCreatable(create.Body, ct);
                break; // a conditional create is a create only if nothing it may see matches: checked in its transaction
            case UpdateRequest update:
                update.MatchPolicy = writes;
                await writes.RequireWritable(update.Body.TypeName, update.ResourceId, update.Body, ct);
                break;
            case ConditionalUpdateRequest update:
                update.MatchPolicy = writes; // what it updates or creates is known, and checked, once matched in its transaction
                break;
            case PatchRequest patch:
                patch.MatchPolicy = writes;
                await writes.RequireChangeable(patch.Type, patch.ResourceId, ct);
                break;
            case ConditionalPatchRequest patch:
                patch.MatchPolicy = writes;
                break;
            case DeleteRequest delete:
                await writes.RequireChangeable(delete.Type, delete.ResourceId, ct);
                break;
            case ConditionalDeleteRequest delete:
                delete.MatchPolicy = writes;
                break;
            case ChangesRequest changes:
                changes.Policy = access; // only changes to what it may see now; the position it gets back is sealed
                break;
            case MatchRequest match:
                match.Policy = access; // only residents it may see are candidates
                break;
            case MergeRequest merge:
                await writes.RequireChangeable("Patient", merge.SourceId, ct);
                await writes.RequireChangeable("Patient", merge.TargetId, ct);
                break;
            case EntryCall entry:
                await Entry(entry, writes, ct);
                break;
            case EvaluateMeasureRequest measure when measure.Reporter == institution:
                break; // its own numbers: the indicators count only the residents it (and the institutions under it) manages
            case EvaluateMeasureRequest:
                throw FhirException.Forbidden($"{institution} evaluates the group's indicators for itself only: give reporter={institution}. " +
                                              "The whole group's and other institutions' figures are for the group's own systems (a client without an institution).");
            case BundleRequest:
                break; // its entries pass this stage one by one
            case { ReadsOnlyThroughNested: true }:
                break; // what it reads of the record passes this stage as its own read
            default:
                throw Refused(call.Request, institution);
        }
    }

    // A bundle's write entries, one by one: each carries the policy into the transaction, where its conditional
    // criteria and conditional references are matched under it and a conditional entry's outcome is checked.
    private static async Task Entry(EntryCall entry, InstitutionWrites writes, CancellationToken ct)
    {
        switch (entry.Interaction)
        {
            case Interaction.Read or Interaction.VRead or Interaction.Search:
                return; // they pass the pipeline again as reads and searches
            case Interaction.Create:
                entry.Entry.Policy = writes;
                await writes.RequireCreatable(entry.Entry.Resource!, ct);
                return;
            case Interaction.Update:
                entry.Entry.Policy = writes;
                await writes.RequireWritable(entry.ResourceType!, entry.Id!, entry.Entry.Resource!, ct);
                return;
            case Interaction.Patch or Interaction.Delete:
                entry.Entry.Policy = writes;
                await writes.RequireChangeable(entry.ResourceType!, entry.Id!, ct);
                return;
            case Interaction.ConditionalCreate or Interaction.ConditionalUpdate or Interaction.ConditionalPatch or Interaction.ConditionalDelete:
                entry.Entry.Policy = writes;
                return;
            default:
                throw Refused(entry, writes.Access.Institution);
        }
    }

    private async Task RequireVisible(string type, string id, InstitutionAccess access, CancellationToken ct)
    {
        if (!access.Governs(type) || await store.VisibleTo(type, id, access, ct) is not false) return; // missing: the handler says 404
        throw FhirException.Forbidden(access.Refusal($"{type}/{id}"));
    }

    private static FhirException Refused(FhirRequest request, string institution)
    {
        var what = request.Operation is { } op ? $"${op}" : request.Interaction.ToString();
        return FhirException.Forbidden(
            $"{what} is not available to a client acting for {institution}: it would search or change data across residents without " +
            "the access policy (server-wide operations are for the group's own systems).");
    }
}
