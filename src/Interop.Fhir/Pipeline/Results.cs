using Hl7.Fhir.Model;
using Interop.Fhir.Model;
using Interop.Fhir.Patients;
using Interop.Fhir.Search;
using Interop.Fhir.Storage;
using Interop.Fhir.Transactions;

namespace Interop.Fhir.Pipeline;

/// <summary>What an interaction did, typed: the web layer alone turns it into a status, headers and a body.</summary>
public abstract record InteractionResult(ResultKind Kind);

/// <summary>
/// A result that names residents other than through stored versions (a subject-list MeasureReport): the access log
/// records them as the residents the interaction concerned.
/// </summary>
public interface INamesPatients
{
    /// <summary>"Patient/{id}" references.</summary>
    IReadOnlyCollection<string> Patients { get; }
}

/// <summary>One version read or written (read, vread, create, update, patch, a conditional create's match).</summary>
public sealed record VersionResult(ResultKind Kind, StoredVersion Version) : InteractionResult(Kind);

/// <summary>A delete: <see cref="ResultKind.Deleted"/> with the tombstone, or <see cref="ResultKind.NoOp"/> when it was gone already.</summary>
public sealed record DeleteResult(ResultKind Kind, StoredVersion? Tombstone) : InteractionResult(Kind);

public sealed record SearchOutcome(SearchQuery Query, SearchResult Result) : InteractionResult(ResultKind.Ok);

public sealed record HistoryOutcome(HistoryQuery Query, HistoryPage Page) : InteractionResult(ResultKind.Ok);

public sealed record BundleOutcome(bool Atomic, IReadOnlyList<EntryOutcome> Entries) : InteractionResult(ResultKind.Ok);

/// <summary>$match's candidates; the access log records the residents it named.</summary>
public sealed record MatchOutcome(IReadOnlyList<PatientMatch> Matches) : InteractionResult(ResultKind.Ok), INamesPatients
{
    public IReadOnlyCollection<string> Patients => Matches.Select(m => m.Version.Key).ToList();
}

public sealed record MergeOutcome(StoredVersion Source, StoredVersion Target) : InteractionResult(ResultKind.Updated);

public sealed record EverythingOutcome(EverythingPage Page) : InteractionResult(ResultKind.Ok);

/// <param name="Filtered">The page was filtered by an institution's access policy: its position counts changes the
/// caller may not see, so it goes out sealed, not as a number.</param>
public sealed record ChangesOutcome(ChangePage Page, bool Filtered = false) : InteractionResult(ResultKind.Ok);
