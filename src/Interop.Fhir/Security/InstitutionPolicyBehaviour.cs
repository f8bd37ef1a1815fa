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
/// or what is addressed to it. Admins, callers acting for the whole group (no institution) and the server's own
/// tools are not limited by it; a break-glass caller passes it with a reason, logged for review.
/// </summary>
public sealed class InstitutionPolicyBehaviour(ResourceStore store, StorageOptions options, ILogger<InstitutionPolicyBehaviour> log) : IInteractionBehaviour
{
    /// <summary>Resources whose creation starts a care relationship (or registers a resident): any institution may create them.</summary>
    private static readonly HashSet<string> Starters = ["Patient", "Encounter", "ServiceRequest", "EpisodeOfCare", "CareTeam", "Task"];

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
        if (call.Context.BreakGlass is { } reason)
        {
            log.LogWarning("Break-glass access by {Client} ({User}) for {Institution}: {Interaction} {Type}/{Id}; reason: {Reason}",
                caller.Client, caller.User, institution, call.Interaction, call.Request.ResourceType, call.Request.Id, reason);
            return;
        }
        var access = new InstitutionAccess(institution, DateTimeOffset.UtcNow.AddDays(-options.RelationshipDays), options.RelationshipDays, PatientScopeBehaviour.Members);
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
            case CreateRequest { IfNoneExist: null } create:
                await RequireCreatable(create.Body, access, ct);
                break;
            case UpdateRequest update:
                await RequireWritable(update.Body.TypeName, update.ResourceId, update.Body, access, ct);
                break;
            case PatchRequest patch:
                await RequireChangeable(patch.Type, patch.ResourceId, institution, ct);
                break;
            case DeleteRequest delete:
                await RequireChangeable(delete.Type, delete.ResourceId, institution, ct);
                break;
            case MergeRequest merge:
                await RequireChangeable("Patient", merge.SourceId, institution, ct);
                await RequireChangeable("Patient", merge.TargetId, institution, ct);
                break;
            case EntryCall entry:
                await Entry(entry, access, institution, ct);
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

    private async Task Entry(EntryCall entry, InstitutionAccess access, string institution, CancellationToken ct)
    {
        switch (entry.Interaction)
        {
            case Interaction.Read or Interaction.VRead or Interaction.Search:
                return; // they pass the pipeline again as reads and searches
            case Interaction.Create:
                await RequireCreatable(entry.Entry.Resource!, access, ct);
                return;
            case Interaction.Update:
                await RequireWritable(entry.ResourceType!, entry.Id!, entry.Entry.Resource!, access, ct);
                return;
            case Interaction.Patch or Interaction.Delete:
                await RequireChangeable(entry.ResourceType!, entry.Id!, institution, ct);
                return;
            default:
                throw Refused(entry, institution);
        }
    }

    private async Task RequireVisible(string type, string id, InstitutionAccess access, CancellationToken ct)
    {
        if (!access.Governs(type) || await store.VisibleTo(type, id, access, ct) is not false) return; // missing: the handler says 404
        throw FhirException.Forbidden(access.Refusal($"{type}/{id}"));
    }

    // An update of a live resource changes it; one of a missing or deleted resource creates it.
    private async Task RequireWritable(string type, string id, Resource body, InstitutionAccess access, CancellationToken ct)
    {
        var changeable = await store.ChangeableBy(type, id, access.Institution, ct);
        if (changeable is null) await RequireCreatable(body, access, ct);
        else if (changeable == false) throw Unchangeable(type, id, access.Institution);
    }

    private async Task RequireChangeable(string type, string id, string institution, CancellationToken ct)
    {
        if (await store.ChangeableBy(type, id, institution, ct) is false) throw Unchangeable(type, id, institution);
    }

    private static FhirException Unchangeable(string type, string id, string institution) => FhirException.Forbidden(
        $"{institution} may change only what it wrote, or a referral or task it sent or that is addressed to it; {type}/{id} is neither.");

    // Data about a resident needs a care relationship with the resident, unless the resource starts one.
    private async Task RequireCreatable(Resource resource, InstitutionAccess access, CancellationToken ct)
    {
        var type = resource.TypeName;
        if (Starters.Contains(type) || !access.Members.ContainsKey(type)) return;
        var patients = PatientCompartment.PatientsReferenced(resource);
        var cared = await store.CaredFor(patients, access, ct);
        if (patients.FirstOrDefault(p => !cared.Contains(p)) is { } stranger)
            throw FhirException.Forbidden(
                $"{access.Institution} has no care relationship with Patient/{stranger}: record an Encounter, a referral (ServiceRequest) or an " +
                "EpisodeOfCare for the resident first.");
    }

    private static FhirException Refused(FhirRequest request, string institution)
    {
        var what = request.Operation is { } op ? $"${op}" : request.Interaction.ToString();
        return FhirException.Forbidden(
            $"{what} is not available to a client acting for {institution}: it would search or change data across residents without " +
            "the access policy (conditional writes and server-wide operations are for the group's own systems).");
    }
}
