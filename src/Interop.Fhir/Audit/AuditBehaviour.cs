using Interop.Fhir.Errors;
using Interop.Fhir.Model;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Storage;

namespace Interop.Fhir.Audit;

/// <summary>
/// The audit stage: one AuditEvent per call (and per bundle entry) that the host marked as audited. A change that
/// was stored wrote its record in its own transaction (<see cref="WriteContext.Audit"/>); everything else — reads,
/// searches, refusals, failures, a conditional create that found its match — is appended to the log here, and the
/// answer waits until the record is durable.
/// </summary>
public sealed class AuditBehaviour(AuditLog log) : IInteractionBehaviour
{
    public Stage Stage => Stage.Audit;

    public async ValueTask After(InteractionCall call, InteractionResult? result, FhirException? error, CancellationToken ct)
    {
        var context = call.Context;
        if (context.Writer.Audit is null || WroteItself(result)) return;
        var what = Describe(call.Request, result, error);
        await log.Append(AuditEvents.Build(AuditWho.Of(context), what, log.Options.Site), ct);
    }

    // Stored changes recorded themselves in their transaction (a bundle's entries, a merge's two patients included).
    private static bool WroteItself(InteractionResult? result) => result switch
    {
        VersionResult { Kind: ResultKind.Created or ResultKind.Updated } => true,
        DeleteResult { Kind: ResultKind.Deleted } => true,
        MergeOutcome => true,
        EntryResult { Outcome.Kind: ResultKind.Created or ResultKind.Updated or ResultKind.Deleted } => true,
        _ => false,
    };

    private static AuditWhat Describe(FhirRequest request, InteractionResult? result, FhirException? error)
    {
        var patients = new HashSet<string>();
        var entities = new List<string>();
        string? query = null;
        switch (result)
        {
            case VersionResult v:
                PatientRefs.Collect(v.Version.Json, patients);
                entities.Add($"{v.Version.Key}/_history/{v.Version.VersionId}");
                break;
            case SearchOutcome s:
                foreach (var hit in s.Result.Hits) PatientRefs.Collect(hit.Version.Json, patients);
                break;
            case HistoryOutcome h:
                foreach (var version in h.Page.Entries) PatientRefs.Collect(version.Json, patients);
                break;
            case ChangesOutcome c:
                foreach (var change in c.Page.Changes) PatientRefs.Collect(change.Version.Json, patients);
                break;
            case EverythingOutcome e:
                foreach (var version in e.Page.Resources) PatientRefs.Collect(version.Json, patients);
                break;
            case EntryResult { Outcome.Version: { } version }:
                entities.Add($"{version.Key}/_history/{version.VersionId}");
                break;
            case INamesPatients named:
                patients.UnionWith(named.Patients); // e.g. a subject-list MeasureReport names residents
                break;
            case AuditPage page:
                query = page.Query;
                break;
        }
        if (request is SearchRequest search)
            query = string.Join(',', search.Query.Types.Count > 3 ? ["*"] : search.Query.Types) + "?" +
                    string.Join('&', search.Query.Echo.Select(kv => $"{kv.Key}={kv.Value}"));
        if (request is AuditLogRequest audit) query ??= audit.Describe();
        if (entities.Count == 0 && request.ResourceType is { } type && request.Id is { } id)
        {
            entities.Add($"{type}/{id}");
            if (type == "Patient") patients.Add($"Patient/{id}");
        }
        var (subtype, action) = Kind(request);
        return new AuditWhat("rest", subtype, action, AuditEvents.OutcomeOf(error), error?.Message, patients, entities, query);
    }

    /// <summary>The BALP subtype (http://hl7.org/fhir/restful-interaction) and action of a request.</summary>
    public static (string Subtype, string Action) Kind(FhirRequest request) => request.Interaction switch
    {
        Interaction.Read => ("read", "R"),
        Interaction.VRead => ("vread", "R"),
        Interaction.Search => (request.ResourceType is null ? "search-system" : "search-type", "E"),
        Interaction.History => (request.Id is not null ? "history-instance" : request.ResourceType is not null ? "history-type" : "history-system", "R"),
        Interaction.Create or Interaction.ConditionalCreate => ("create", "C"),
        Interaction.Update or Interaction.ConditionalUpdate => ("update", "U"),
        Interaction.Patch or Interaction.ConditionalPatch => ("patch", "U"),
        Interaction.Delete or Interaction.ConditionalDelete => ("delete", "D"),
        Interaction.Transaction => ("transaction", "E"),
        Interaction.Batch => ("batch", "E"),
        _ => ("operation", "E"),
    };
}
