using Hl7.Fhir.Model;
using Interop.Fhir.Model;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Transactions;

namespace Interop.Fhir.Workflows.Care;

/// <summary>
/// Patient/{id}/$enrol: case management of one chronic condition of a contracted resident. <paramref name="Specialist"/>
/// (a hospital's Practitioner or PractitionerRole) joins the episode in a new CareTeam with the GP; <paramref name="Team"/>
/// is an existing CareTeam of the hospital's (a diabetes clinic's) added instead or as well.
/// </summary>
public sealed record EnrolRequest(string PatientId, ResourceReference Condition, ResourceReference? Specialist, ResourceReference? Team) : FhirRequest
{
    public override Interaction Interaction => Interaction.Operation;
    public override string ResourceType => "Patient";
    public override string Id => PatientId;
    public override string Operation => "enrol";
    public override bool ReadsOnlyThroughNested => true; // every read and the transaction are nested requests
}

/// <summary>
/// Enrols in one transaction: a CaseManagementEpisode managed by the contract's station, with the contract's GP as care
/// manager, the Condition as diagnosis and chronic-condition, and the contract's family-doctor team plus the specialist's
/// CareTeam (created here) or the given team. Refusals: the Condition is not the resident's (422 Condition.subject) or not
/// in ValueSet chronic-conditions (422 Condition.code); no active family-doctor contract (422); the specialist is not at
/// a hospital (422). CaseManagementRules then refuse a second active episode for the condition (409) and a team
/// without a hospital and a station participant (422).
/// </summary>
public sealed class EnrolHandler : Handler<EnrolRequest>
{
    protected override async Task<InteractionResult> Handle(EnrolRequest r, InteractionCall call, CancellationToken ct)
    {
        var patient = $"Patient/{r.PatientId}";
        await Nested.Read<Patient>(call, "Patient", r.PatientId, ct);
        if (await Nested.Read(call, r.Condition, "Parameters.parameter[condition]", ct) is not Condition condition)
            throw Nested.Unprocessable($"condition must be a Condition, not {r.Condition.Reference}.", "Parameters.parameter[condition]");
        if (condition.Subject?.Reference != patient)
            throw Nested.Unprocessable($"{r.Condition.Reference} is a condition of {condition.Subject?.Reference ?? "nobody"}, not of {patient}.", "Condition.subject");
        var chronic = CareCodes.ChronicOf(condition.Code) ?? throw Nested.Unprocessable(
            $"{r.Condition.Reference} ({condition.Code?.Text ?? condition.Code?.Coding.FirstOrDefault()?.Code}) is not a chronic condition under case management: " +
            "its code is in no system and code of ValueSet https://interop.example/fhir/ValueSet/chronic-conditions.", "Condition.code");
        var contracts = await Nested.Search<EpisodeOfCare>(call, "EpisodeOfCare",
            [new("patient", patient), new("status", "active"), new("type", $"{GroupCodes.EpisodeType}|family-doctor-contract")], ct, limit: 10);
        var contract = contracts.FirstOrDefault(GroupCodes.IsContract) ?? throw Nested.Unprocessable(
            $"{patient} has no active family-doctor contract (EpisodeOfCare of type family-doctor-contract); case management is for contracted residents: sign a contract first.",
            "Patient");

        var today = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var teamUrl = "urn:uuid:" + Guid.NewGuid();
        var episode = new EpisodeOfCare
        {
            Meta = new Meta { Profile = [CareCodes.CaseManagementProfile] },
            Extension = [new Extension(CareCodes.ChronicConditionExtension, new CodeableConcept { Coding = [chronic.Coding], Text = condition.Code!.Text })],
            Status = EpisodeOfCare.EpisodeOfCareStatus.Active,
            Type = [new CodeableConcept(GroupCodes.EpisodeType, "case-management", "Case management")],
            Diagnosis = [new EpisodeOfCare.DiagnosisComponent { Condition = new ResourceReference(r.Condition.Reference), Rank = 1 }],
            Patient = new ResourceReference(patient), ManagingOrganization = contract.ManagingOrganization,
            Period = new Period { Start = today }, CareManager = contract.CareManager,
            Team = [.. contract.Team.Select(t => new ResourceReference(t.Reference))],
        };
        List<EntryRequest> entries = [];
        if (r.Specialist is { } specialist)
        {
            var (role, _) = await SpecialistTeam.Hospital(call, specialist, ct);
            entries.Add(new(1, teamUrl, Bundle.HTTPVerb.POST, "CareTeam", SpecialistTeam.Build(patient, condition, contract, role, today)));
            episode.Team.Add(new ResourceReference(teamUrl));
        }
        if (r.Team is { } team) episode.Team.Add(new ResourceReference(team.Reference));
        entries.Insert(0, new(0, "urn:uuid:" + Guid.NewGuid(), Bundle.HTTPVerb.POST, "EpisodeOfCare", episode));
        var outcome = (BundleOutcome)await call.Nested(new BundleRequest(entries, Atomic: true), ct);
        return new VersionResult(ResultKind.Created, outcome.Entries.First(e => e.Index == 0).Version!);
    }
}
