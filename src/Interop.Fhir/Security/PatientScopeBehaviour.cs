using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Patients;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Scopes;
using Interop.Fhir.Storage;

namespace Interop.Fhir.Security;

/// <summary>
/// The authorise stage's second check: a caller whose only scopes for the interaction are patient/ scopes sees
/// and changes nothing outside its patient's compartment (R4 CompartmentDefinition/patient). Searches and history
/// get the compartment as part of their SQL (matches, _include and _revinclude alike); a read of another
/// patient's resource is a 404 worded like any missing resource; writes must stay in the compartment. Operations
/// and conditional writes that search the whole server are refused to such a caller.
/// </summary>
public sealed class PatientScopeBehaviour(ResourceStore store) : IInteractionBehaviour
{
    /// <summary>
    /// The resident's data for access control: R4's patient compartment, plus Task (by `patient`, its `for`), which
    /// the compartment leaves out although a referral task names the resident it is for.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string[]> Members =
        PatientCompartment.Types.Append("Task").ToDictionary(t => t, t => t == "Task" ? ["patient"] : PatientCompartment.Params(t).ToArray(), StringComparer.Ordinal);

    public Stage Stage => Stage.Authorise;

    public async ValueTask Before(InteractionCall call, CancellationToken ct)
    {
        var caller = call.Context.Caller;
        if (caller.Unrestricted || caller.Patient is not { } patient) return;
        if (call.Request.ReadsAccessLog) return; // Audit/AuditAccessBehaviour decides
        var request = call.Request;
        var needed = ScopeBehaviour.Needed(request);
        if (needed == Permission.None || !Confined(caller.Grants, request, needed)) return;
        var confinement = new PatientConfinement(patient, Members);
        switch (request)
        {
            case SearchRequest search:
                search.Query.Confinement = confinement;
                break;
            case HistoryRequest { Query: { Type: { } type, Id: { } id } }:
                await RequireInCompartment(type, id, confinement, ct);
                break;
            case HistoryRequest history:
                history.Query.Confinement = confinement;
                break;
            case ReadRequest read:
                await RequireInCompartment(read.Type, read.ResourceId, confinement, ct);
                break;
            case EverythingRequest everything when everything.PatientId != patient:
                throw FhirException.NotFound($"Patient/{everything.PatientId} does not exist.");
            case EverythingRequest:
                break;
            case CreateRequest { IfNoneExist: null } create:
                RequireWritable(create.Body, confinement);
                break;
            case UpdateRequest update:
                await RequireInCompartment(update.Body.TypeName, update.ResourceId, confinement, ct, mayBeNew: true);
                RequireWritable(update.Body, confinement);
                break;
            case DeleteRequest delete:
                await RequireInCompartment(delete.Type, delete.ResourceId, confinement, ct);
                break;
            case EntryCall entry:
                await Entry(entry, confinement, ct);
                break;
            case { ReadsOnlyThroughNested: true }:
                break;
            default:
                throw Refused(request);
        }
    }

    // A bundle's write entries, one by one (its GET entries pass this stage again as reads and searches).
    private async Task Entry(EntryCall entry, PatientConfinement confinement, CancellationToken ct)
    {
        switch (entry.Interaction)
        {
            case Interaction.Read or Interaction.VRead or Interaction.Search:
                return;
            case Interaction.Create:
                RequireWritable(entry.Entry.Resource!, confinement);
                return;
            case Interaction.Update:
                await RequireInCompartment(entry.ResourceType!, entry.Id!, confinement, ct, mayBeNew: true);
                RequireWritable(entry.Entry.Resource!, confinement);
                return;
            case Interaction.Delete:
                await RequireInCompartment(entry.ResourceType!, entry.Id!, confinement, ct);
                return;
            default:
                throw Refused(entry);
        }
    }

    // Confined unless a user/ or system/ scope also allows the interaction on every type it touches.
    private static bool Confined(Grants grants, FhirRequest request, Permission needed)
    {
        IEnumerable<string> types = request is SearchRequest { Query.Types.Count: > 0 } s ? s.Query.Types : [request.ResourceType ?? "*"];
        return types.Any(t => !grants.For(t, needed).Any(g => g.Context != ScopeContext.Patient));
    }

    // Worded exactly as a missing resource is, so the answer does not confirm that another patient's resource exists.
    private async Task RequireInCompartment(string type, string id, PatientConfinement confinement, CancellationToken ct, bool mayBeNew = false)
    {
        if (await store.InCompartment(type, id, confinement, ct)) return;
        if (mayBeNew && await store.ReadCurrent(type, id, ct) is null) return; // an update that creates: its content is checked
        throw FhirException.NotFound($"{type}/{id} does not exist.");
    }

    private static void RequireWritable(Resource resource, PatientConfinement confinement)
    {
        var type = resource.TypeName;
        if (!confinement.Confines(type)) return;
        if (type == "Patient")
        {
            if (resource.Id == confinement.PatientId) return;
            throw FhirException.Forbidden($"A token for {confinement.PatientKey} may change only that Patient, not create or change another.");
        }
        if (!confinement.Members.TryGetValue(type, out var members))
            throw FhirException.Forbidden($"A token for {confinement.PatientKey} may not write a {type}.");
        if (PatientCompartment.PatientsReferenced(resource).Contains(confinement.PatientId)) return;
        throw FhirException.Forbidden(
            $"A token for {confinement.PatientKey} may write only resources in that patient's compartment: {type} must reference {confinement.PatientKey} " +
            $"through {string.Join(" or ", members.Select(m => $"{type}.{m}"))}.");
    }

    private static FhirException Refused(FhirRequest request)
    {
        var what = request.Operation is { } op ? $"${op}" : request.Interaction.ToString();
        return FhirException.Forbidden(
            $"{what} is not available to a token limited to one patient (patient/ scopes): it would search or change data beyond that patient's compartment.");
    }
}
