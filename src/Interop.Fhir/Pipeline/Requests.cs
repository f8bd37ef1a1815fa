using Hl7.Fhir.Model;
using Interop.Fhir.Search;
using Interop.Fhir.Storage;
using Interop.Fhir.Transactions;

namespace Interop.Fhir.Pipeline;

/// <summary>
/// One request to the pipeline: what is asked (the interaction), of which resource type and id. Behaviours
/// see these before the handler runs; every caller — REST, bundle entries, operations, the importer — makes them.
/// </summary>
public abstract record FhirRequest
{
    public abstract Interaction Interaction { get; }
    /// <summary>The resource type the interaction is about, or null for whole-system interactions.</summary>
    public abstract string? ResourceType { get; }
    public virtual string? Id => null;
    /// <summary>The operation's name ("everything", "merge") for <see cref="Interaction.Operation"/>.</summary>
    public virtual string? Operation => null;
    /// <summary>The resource the request carries (create, update, a bundle entry's), for validation.</summary>
    public virtual Resource? Resource => null;
    /// <summary>A reading of the access log: its own rules (Audit/AuditAccessBehaviour) apply, not the compartment's or the care policy's.</summary>
    public virtual bool ReadsAccessLog => false;
    /// <summary>
    /// Reads no resident's data itself: what stored data it needs comes through nested requests, each of which passes
    /// the compartment and the care policy on its own ($validate of a stored instance; the terminology operations).
    /// </summary>
    public virtual bool ReadsOnlyThroughNested => false;
}

public sealed record ReadRequest(string Type, string ResourceId, int? Version = null) : FhirRequest
{
    /// <summary>Set by the authorise stage for an institution: the read's statement also says whether the policy lets it see the resource.</summary>
    public Storage.InstitutionAccess? Policy { get; set; }
    public override Interaction Interaction => Version is null ? Interaction.Read : Interaction.VRead;
    public override string ResourceType => Type;
    public override string Id => ResourceId;
}

/// <summary>A parsed search. Behaviours may add criteria to <see cref="Query"/> before it becomes SQL.</summary>
public sealed record SearchRequest(SearchQuery Query, bool CountOnly = false) : FhirRequest
{
    public override Interaction Interaction => Interaction.Search;
    public override string? ResourceType => Query.Types.Count == 1 ? Query.Types[0] : null;
}

public sealed record HistoryRequest(HistoryQuery Query) : FhirRequest
{
    public override Interaction Interaction => Interaction.History;
    public override string? ResourceType => Query.Type;
    public override string? Id => Query.Id;
}

/// <param name="IfNoneExist">Criteria for a conditional create, or null.</param>
public sealed record CreateRequest(Resource Body, string? IfNoneExist = null) : FhirRequest
{
    /// <summary>Set by the authorise stage for an institution: conditional matches (criteria, conditional references) run under its policy, and their outcome is checked against its write rules.</summary>
    public IMatchPolicy? MatchPolicy { get; set; }
    public override Interaction Interaction => IfNoneExist is null ? Interaction.Create : Interaction.ConditionalCreate;
    public override string ResourceType => Body.TypeName;
    public override Resource Resource => Body;
}

public sealed record UpdateRequest(Resource Body, string ResourceId, int? IfMatch = null) : FhirRequest
{
    /// <summary>Set by the authorise stage for an institution: conditional matches (criteria, conditional references) run under its policy, and their outcome is checked against its write rules.</summary>
    public IMatchPolicy? MatchPolicy { get; set; }
    public override Interaction Interaction => Interaction.Update;
    public override string ResourceType => Body.TypeName;
    public override string Id => ResourceId;
    public override Resource Resource => Body;
}

public sealed record ConditionalUpdateRequest(string Type, string Criteria, Resource Body, int? IfMatch = null) : FhirRequest
{
    /// <summary>Set by the authorise stage for an institution: conditional matches (criteria, conditional references) run under its policy, and their outcome is checked against its write rules.</summary>
    public IMatchPolicy? MatchPolicy { get; set; }
    public override Interaction Interaction => Interaction.ConditionalUpdate;
    public override string ResourceType => Type;
    public override Resource Resource => Body;
}

/// <param name="Patch">A Parameters resource (FHIRPath Patch) or a Binary holding a JSON Patch.</param>
public sealed record PatchRequest(string Type, string ResourceId, Resource Patch, int? IfMatch = null) : FhirRequest
{
    /// <summary>Set by the authorise stage for an institution: conditional matches (criteria, conditional references) run under its policy, and their outcome is checked against its write rules.</summary>
    public IMatchPolicy? MatchPolicy { get; set; }
    public override Interaction Interaction => Interaction.Patch;
    public override string ResourceType => Type;
    public override string Id => ResourceId;
}

/// <summary>PATCH Type?criteria: the one match is patched (none: 404, several: 412).</summary>
/// <param name="Patch">A Parameters resource (FHIRPath Patch) or a Binary holding a JSON Patch.</param>
public sealed record ConditionalPatchRequest(string Type, string Criteria, Resource Patch, int? IfMatch = null) : FhirRequest
{
    /// <summary>Set by the authorise stage for an institution: conditional matches (criteria, conditional references) run under its policy, and their outcome is checked against its write rules.</summary>
    public IMatchPolicy? MatchPolicy { get; set; }
    public override Interaction Interaction => Interaction.ConditionalPatch;
    public override string ResourceType => Type;
}

public sealed record DeleteRequest(string Type, string ResourceId, int? IfMatch = null) : FhirRequest
{
    public override Interaction Interaction => Interaction.Delete;
    public override string ResourceType => Type;
    public override string Id => ResourceId;
}

public sealed record ConditionalDeleteRequest(string Type, string Criteria) : FhirRequest
{
    /// <summary>Set by the authorise stage for an institution: conditional matches (criteria, conditional references) run under its policy, and their outcome is checked against its write rules.</summary>
    public IMatchPolicy? MatchPolicy { get; set; }
    public override Interaction Interaction => Interaction.ConditionalDelete;
    public override string ResourceType => Type;
}

/// <summary>A transaction (all or nothing) or a batch (each entry on its own).</summary>
public sealed record BundleRequest(IReadOnlyList<EntryRequest> Entries, bool Atomic) : FhirRequest
{
    public override Interaction Interaction => Atomic ? Interaction.Transaction : Interaction.Batch;
    public override string? ResourceType => null;
}

/// <summary>One entry of a transaction or batch, seen by the behaviours as the interaction it asks for.</summary>
public sealed record EntryCall(EntryRequest Entry) : FhirRequest
{
    // The entry's URL, parsed once (every stage asks for the interaction, type and id).
    private readonly (string Type, string? Id, string? Query, int? Version)? _target = Entry.TargetOrNull;

    public override Interaction Interaction => Entry.Method switch
    {
        Bundle.HTTPVerb.GET => _target is { Id: null } ? Interaction.Search : _target?.Version is null ? Interaction.Read : Interaction.VRead,
        Bundle.HTTPVerb.POST => string.IsNullOrEmpty(Entry.IfNoneExist) ? Interaction.Create : Interaction.ConditionalCreate,
        Bundle.HTTPVerb.PUT => _target is { Id: null } ? Interaction.ConditionalUpdate : Interaction.Update,
        Bundle.HTTPVerb.PATCH => _target is { Id: null } ? Interaction.ConditionalPatch : Interaction.Patch,
        Bundle.HTTPVerb.DELETE => _target is { Id: null } ? Interaction.ConditionalDelete : Interaction.Delete,
        _ => Interaction.Operation,
    };
    public override string? ResourceType => _target?.Type;
    public override string? Id => _target?.Id;
    public override Resource? Resource => Entry.Method is Bundle.HTTPVerb.POST or Bundle.HTTPVerb.PUT ? Entry.Resource : null;
}

public sealed record MatchRequest(Patient Patient, int Count, bool OnlyCertain) : FhirRequest
{
    /// <summary>Set by the authorise stage for an institution: only residents the access policy lets it see are candidates (in the SQL).</summary>
    public Storage.InstitutionAccess? Policy { get; set; }
    public override Interaction Interaction => Interaction.Operation;
    public override string ResourceType => "Patient";
    public override string Operation => "match";
}

public sealed record MergeRequest(string SourceId, string TargetId) : FhirRequest
{
    public override Interaction Interaction => Interaction.Operation;
    public override string ResourceType => "Patient";
    public override string Id => TargetId;
    public override string Operation => "merge";
}

public sealed record EverythingRequest(string PatientId, DateTimeOffset? Since, IReadOnlyCollection<string>? Types, string? After, int Count) : FhirRequest
{
    /// <summary>Set by the authorise stage for an institution: the pages hold only what the access policy lets it see.</summary>
    public Storage.InstitutionAccess? Policy { get; set; }
    public override Interaction Interaction => Interaction.Operation;
    public override string ResourceType => "Patient";
    public override string Id => PatientId;
    public override string Operation => "everything";
}

/// <summary>The change feed: changes after sequence number <paramref name="After"/>, in order, up to the high-water mark.</summary>
public sealed record ChangesRequest(long After, int Count) : FhirRequest
{
    /// <summary>Set by the authorise stage for an institution: the page holds only changes to what the access policy lets it see.</summary>
    public Storage.InstitutionAccess? Policy { get; set; }
    public override Interaction Interaction => Interaction.Operation;
    public override string? ResourceType => null;
    public override string Operation => "changes";
}

/// <summary>
/// $evaluate-measure: one of the group's indicators (Measure/{id}, or measure= an id or canonical) over a period, for the
/// whole group or one reporter. The parameters come as given (name, value); the handler checks them, after the authorise stage.
/// </summary>
public sealed record EvaluateMeasureRequest(string? InstanceId, IReadOnlyList<KeyValuePair<string, string>> Parameters) : FhirRequest
{
    /// <summary>The canonical base of the group's Measures.</summary>
    public const string MeasureBase = "https://interop.example/fhir/Measure/";

    /// <summary>The resource types the indicators count: the caller needs search on each (they count across residents).</summary>
    public static readonly IReadOnlyList<string> Counted =
        ["Patient", "Organization", "EpisodeOfCare", "Encounter", "ServiceRequest", "Task", "RiskAssessment", "CarePlan"];

    public override Interaction Interaction => Interaction.Operation;
    public override string ResourceType => "Measure";
    public override string? Id => InstanceId ?? MeasureId(Value("measure"));
    public override string Operation => "evaluate-measure";

    /// <summary>reportType=subject-list: the answer names the residents behind each count.</summary>
    public bool SubjectList => Value("reportType") == "subject-list";

    /// <summary>The reporter asked for ("Organization/x" as given), or null for the whole group.</summary>
    public string? Reporter => Value("reporter");

    /// <summary>The first value of a parameter, or null.</summary>
    public string? Value(string name) => Parameters.FirstOrDefault(p => p.Key == name).Value;

    /// <summary>A Measure's id from its id or canonical URL (the group's base, with an optional |version), or null for another URL.</summary>
    public static string? MeasureId(string? measure)
    {
        if (string.IsNullOrEmpty(measure)) return null;
        var url = measure.Split('|')[0];
        if (url.StartsWith(MeasureBase, StringComparison.Ordinal)) url = url[MeasureBase.Length..];
        else if (url.StartsWith("Measure/", StringComparison.Ordinal)) url = url["Measure/".Length..];
        return url.Length > 0 && !url.Contains('/') && !url.Contains(':') ? url : null;
    }
}
