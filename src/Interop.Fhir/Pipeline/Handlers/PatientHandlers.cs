using Interop.Fhir.Patients;

namespace Interop.Fhir.Pipeline.Handlers;

/// <summary>Patient/$match: registrations of the same person, scored.</summary>
public sealed class MatchHandler(PatientMatcher matcher) : Handler<MatchRequest>
{
    protected override async Task<InteractionResult> Handle(MatchRequest r, InteractionCall call, CancellationToken ct) =>
        new MatchOutcome(await matcher.Match(r.Patient, r.Count, r.OnlyCertain, ct, r.Policy));
}

/// <summary>Patient/$merge: the source is linked replaced-by the target, both as new versions in one transaction.</summary>
public sealed class MergeHandler(PatientMerge merge) : Handler<MergeRequest>
{
    protected override async Task<InteractionResult> Handle(MergeRequest r, InteractionCall call, CancellationToken ct)
    {
        var (source, target) = await merge.Merge(r.SourceId, r.TargetId, call.Context.Writer, ct);
        return new MergeOutcome(source, target);
    }
}

/// <summary>Patient/{id}/$everything: the compartment of the patient and its linked patients, paged in the database.</summary>
public sealed class EverythingHandler(PatientEverything everything) : Handler<EverythingRequest>
{
    protected override async Task<InteractionResult> Handle(EverythingRequest r, InteractionCall call, CancellationToken ct) =>
        new EverythingOutcome(await everything.Run(r.PatientId, r.Since, r.Types, r.After, r.Count, ct, r.Policy));
}
