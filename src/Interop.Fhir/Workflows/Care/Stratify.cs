using Hl7.Fhir.Model;
using Interop.Fhir.Model;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Transactions;

namespace Interop.Fhir.Workflows.Care;

/// <summary>
/// $stratify: one resident (Patient/{id}/$stratify, <paramref name="PatientId"/>) or the group (/$stratify), optionally
/// only the residents whose active family-doctor contract <paramref name="Organization"/> (a station) manages.
/// </summary>
public sealed record StratifyRequest(string? PatientId, string? Organization) : FhirRequest
{
    public override Interaction Interaction => Interaction.Operation;
    public override string ResourceType => "Patient";
    public override string? Id => PatientId;
    public override string Operation => "stratify";
    public override bool ReadsOnlyThroughNested => true; // nested searches per page, a nested transaction per page
}

/// <summary>An operation's answer that is not stored: a Parameters summary, a proposed CarePlan.</summary>
public sealed record CareAnswer(Resource Body) : InteractionResult(ResultKind.Ok);

/// <summary>
/// Each run writes each resident's RiskAssessment (RiskRules) as a new version of one resource per resident,
/// <see cref="AssessmentId"/>, one transaction per page of residents: earlier runs stay as its history, and searches —
/// the high-risk worklist — see only the latest. One resident: 201 the first time, 200 after, with the RiskAssessment. The group:
/// a Parameters with the counts of residents per level (total, low, moderate, high) and the pages written.
/// </summary>
public sealed class StratifyHandler : Handler<StratifyRequest>
{
    /// <summary>Residents per page: one search per kind of data and one transaction each.</summary>
    public const int PageSize = 100;

    protected override async Task<InteractionResult> Handle(StratifyRequest r, InteractionCall call, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var hospitals = new Dictionary<string, bool>(StringComparer.Ordinal);
        if (r.PatientId is { } id)
        {
            var patient = await Nested.Read<Patient>(call, "Patient", id, ct);
            var outcome = await Write(call, await RiskData.Gather(call, [patient], now, hospitals, ct), now, ct);
            var written = outcome.Entries.Single().Version!;
            return new VersionResult(written.VersionId == 1 ? ResultKind.Created : ResultKind.Updated, written);
        }
        var counts = new Dictionary<string, int> { ["low"] = 0, ["moderate"] = 0, ["high"] = 0 };
        var pages = 0;
        await foreach (var page in Residents(call, r.Organization, ct))
        {
            var facts = await RiskData.Gather(call, page, now, hospitals, ct);
            await Write(call, facts, now, ct);
            foreach (var f in facts) counts[RiskRules.Score(f).Level]++;
            pages++;
        }
        var summary = new Parameters();
        summary.Add("total", new Integer(counts.Values.Sum()));
        foreach (var (level, n) in counts) summary.Add(level, new Integer(n));
        summary.Add("pages", new Integer(pages));
        summary.Add("occurrence", new FhirDateTime(now));
        return new CareAnswer(summary);
    }

    private static async Task<BundleOutcome> Write(InteractionCall call, List<RiskFacts> facts, DateTimeOffset now, CancellationToken ct)
    {
        var entries = facts.Select((f, i) =>
        {
            var assessment = RiskRules.Assess(f, now);
            assessment.Id = AssessmentId(f.Patient.Id!);
            return new EntryRequest(i, null, Bundle.HTTPVerb.PUT, $"RiskAssessment/{assessment.Id}", assessment);
        }).ToList();
        return (BundleOutcome)await call.Nested(new BundleRequest(entries, Atomic: true), ct);
    }

    /// <summary>The id of a resident's stratification: "risk-" and the Patient id (a hash of it when that would pass 64 characters).</summary>
    public static string AssessmentId(string patientId) =>
        patientId.Length <= 59 ? "risk-" + patientId
            : "risk-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(patientId)))[..59];

    // The residents page by page: every Patient the caller may see, or those with an active contract at the station.
    private static async IAsyncEnumerable<List<Patient>> Residents(InteractionCall call, string? organization, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        if (organization is null)
        {
            await foreach (var page in Nested.Pages<Patient>(call, "Patient", [new("_sort", "_id")], PageSize, ct)) yield return page;
            yield break;
        }
        await foreach (var contracts in Nested.Pages<EpisodeOfCare>(call, "EpisodeOfCare",
                           [new("organization", organization), new("status", "active"), new("type", $"{GroupCodes.EpisodeType}|family-doctor-contract")], PageSize, ct))
        {
            var ids = contracts.Select(c => c.Patient?.Reference?.Split('/')).Where(p => p is ["Patient", _]).Select(p => p![1]).Distinct().ToList();
            if (ids.Count > 0) yield return await Nested.Search<Patient>(call, "Patient", [new("_id", string.Join(',', ids))], ct, int.MaxValue);
        }
    }
}
