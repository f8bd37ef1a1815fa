using Interop.Fhir.Indexing;
using Hl7.Fhir.Model;

namespace Interop.Fhir.Search;

/// <summary>
/// A parsed search: criteria (AND), each with OR-ed values, plus result controls. The small expression tree
/// the SQL builder turns into one query.
/// </summary>
public sealed class SearchQuery
{
    public required IReadOnlyList<string> Types { get; init; }
    public List<Criterion> Criteria { get; } = [];
    public List<SortKey> Sort { get; } = [];
    public List<IncludeSpec> Includes { get; } = [];
    public List<IncludeSpec> RevIncludes { get; } = [];
    public int Count { get; set; }
    public TotalMode Total { get; set; } = TotalMode.Auto;
    public Cursor? Cursor { get; set; }
    /// <summary>Parameters ignored under lenient handling, reported back as warnings.</summary>
    public List<string> Warnings { get; } = [];
    /// <summary>The accepted parameters, canonicalised, for self/next links.</summary>
    public List<KeyValuePair<string, string>> Echo { get; } = [];
    /// <summary>Set by the authorise stage for a patient-scoped caller: matches and included resources stay in that patient's compartment.</summary>
    public Storage.PatientConfinement? Confinement { get; set; }
    /// <summary>Set by the authorise stage for an institution: matches and included resources are what the access policy lets it see.</summary>
    public Storage.InstitutionAccess? Policy { get; set; }
}

public enum TotalMode { Auto, None, Estimate, Accurate }

public abstract record Criterion;

/// <summary>One parameter occurrence: <paramref name="Values"/>, typed, are OR-ed (comma-separated in the URL).</summary>
public sealed record ParamCriterion(SearchParam Param, string? Modifier, IReadOnlyList<SearchValue> Values) : Criterion;

/// <summary>subject:Patient.name=x — resources whose reference points at a target matching the inner criterion.</summary>
public sealed record ChainCriterion(SearchParam Reference, IReadOnlyList<(string TargetType, Criterion Inner)> Targets) : Criterion;

/// <summary>_has:Observation:patient:code=x — resources referenced by a source matching the inner criterion.</summary>
/// <param name="Negated">_has-not: the resources that no matching source resource refers to.</param>
public sealed record HasCriterion(string SourceType, SearchParam SourceReference, Criterion Inner, bool Negated = false) : Criterion;

/// <summary>Compartment membership: any of these reference parameters points at <paramref name="TargetKey"/>.</summary>
public sealed record CompartmentCriterion(IReadOnlyList<string> Params, string TargetKey) : Criterion;

/// <summary>
/// date=geA&amp;date=leB on one parameter, merged into one overlap test on the same index row (as HAPI's date ranges
/// do): the stored period overlaps [From, To). Answered by the GiST range index instead of two half-open scans.
/// </summary>
public sealed record DateRangeCriterion(SearchParam Param, DateTimeOffset From, DateTimeOffset To) : Criterion;

public sealed record SortKey(string Name, SearchParam? Param, bool Descending);

/// <summary>_include=Source:param[:Target] / _revinclude, with :iterate; Param "*" means all reference parameters.</summary>
public sealed record IncludeSpec(string SourceType, string Param, string? TargetType, bool Iterate);

/// <summary>Keyset position: the sort values and key of the last (or first, going back) row of a page.</summary>
public sealed record Cursor(bool Forward, IReadOnlyList<string?> Values, string Key);
