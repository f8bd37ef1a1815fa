using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Model;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Search;
using Interop.Fhir.Transactions;

namespace Interop.Fhir.Workflows;

/// <summary>EpisodeOfCare/{id}/$renew: another year of a family-doctor contract, optionally with another GP (and team).</summary>
public sealed record RenewRequest(string ContractId, ResourceReference? CareManager, IReadOnlyList<ResourceReference>? Team, int? IfMatch) : FhirRequest
{
    public override Interaction Interaction => Interaction.Operation;
    public override string ResourceType => "EpisodeOfCare";
    public override string Id => ContractId;
    public override string Operation => "renew";
    public override bool ReadsOnlyThroughNested => true; // it reads and writes through nested requests, each authorised and audited
}

/// <summary>
/// Renewal takes effect today, in one transaction: the contract ends today (status finished, with the termination
/// reason "renewed" when it had days left) and a new one starts, for one year, as a new EpisodeOfCare with the
/// same resident, station and service package, so that the history keeps every contract. A new GP must lead a
/// team at the station; without a team given, the team they lead there is found. The contract rules check the
/// result as for any write (one active contract, the GP's team, one year).
/// </summary>
public sealed class RenewHandler : Handler<RenewRequest>
{
    protected override async Task<InteractionResult> Handle(RenewRequest r, InteractionCall call, CancellationToken ct)
    {
        var read = (VersionResult)await call.Nested(new ReadRequest("EpisodeOfCare", r.ContractId), ct);
        if (FhirSerialization.ParseStored(read.Version.Json!) is not EpisodeOfCare old || !GroupCodes.IsContract(old))
            throw ContractRules.Rule($"EpisodeOfCare/{r.ContractId} is not a family-doctor contract (type {GroupCodes.EpisodeType}|family-doctor-contract).", "EpisodeOfCare.type");
        if (old.Status is not (EpisodeOfCare.EpisodeOfCareStatus.Active or EpisodeOfCare.EpisodeOfCareStatus.Finished))
            throw FhirException.Conflict($"EpisodeOfCare/{r.ContractId} is {Code(old.Status)}; only an active or finished contract is renewed.");
        if (r.IfMatch is { } expected && expected != read.Version.VersionId)
            throw FhirException.PreconditionFailed($"If-Match W/\"{expected}\" is not the current version of EpisodeOfCare/{r.ContractId} (current is W/\"{read.Version.VersionId}\").");

        var today = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)).Date; // the group's day (UTC+8)
        var renewed = (EpisodeOfCare)old.DeepCopy();
        renewed.Id = null;
        renewed.Meta = old.Meta?.Profile.Any() == true ? new Meta { Profile = old.Meta.Profile } : null;
        renewed.Text = null;
        renewed.StatusHistory.Clear();
        renewed.Extension.RemoveAll(x => x.Url == GroupCodes.TerminationReason);
        renewed.Status = EpisodeOfCare.EpisodeOfCareStatus.Active;
        renewed.Period = new Period { Start = Day(today), End = Day(today.AddYears(1).AddDays(-1)) };
        if (r.CareManager is { } manager && manager.Reference != old.CareManager?.Reference)
        {
            renewed.CareManager = manager;
            renewed.Team = r.Team?.ToList() ?? [await TeamOf(manager, old.ManagingOrganization, call, ct)];
        }
        else if (r.Team is { Count: > 0 } team) renewed.Team = team.ToList();

        var ends = old.Status == EpisodeOfCare.EpisodeOfCareStatus.Active; // a finished contract stays as it is
        if (ends)
        {
            var hadDaysLeft = old.Period?.EndElement?.ToDateTimeOffset(TimeSpan.Zero) is not { } end || end.Date > today;
            old.Status = EpisodeOfCare.EpisodeOfCareStatus.Finished;
            if (hadDaysLeft)
            {
                (old.Period ??= new Period()).End = Day(today);
                old.Extension.RemoveAll(x => x.Url == GroupCodes.TerminationReason);
                old.Extension.Add(new Extension(GroupCodes.TerminationReason, new CodeableConcept { Text = "renewed" }));
            }
        }
        List<EntryRequest> entries = [new(0, "urn:uuid:" + Guid.NewGuid(), Bundle.HTTPVerb.POST, "EpisodeOfCare", renewed)];
        if (ends)
            entries.Add(new(1, null, Bundle.HTTPVerb.PUT, $"EpisodeOfCare/{r.ContractId}", old, IfMatch: read.Version.VersionId));
        var outcome = (BundleOutcome)await call.Nested(new BundleRequest(entries, Atomic: true), ct);
        return new VersionResult(ResultKind.Created, outcome.Entries.First(e => e.Index == 0).Version!);
    }

    // The family-doctor team the GP leads at the station (read as a search of the caller's).
    private static async Task<ResourceReference> TeamOf(ResourceReference manager, ResourceReference? station, InteractionCall call, CancellationToken ct)
    {
        var query = SearchQueryParser.Parse(["CareTeam"], [new("participant", manager.Reference ?? "")], strict: true, 50, 50);
        var found = (SearchOutcome)await call.Nested(new SearchRequest(query), ct);
        var team = found.Result.Hits.Select(h => FhirSerialization.ParseStored(h.Version.Json!)).OfType<CareTeam>().FirstOrDefault(t =>
            t.ManagingOrganization.Any(o => o.Reference == station?.Reference)
            && t.Participant.Any(p => p.Member?.Reference == manager.Reference && GroupCodes.Has(p.Role, GroupCodes.TeamRole, "gp-leader")));
        return team is not null ? new ResourceReference($"CareTeam/{team.Id}")
            : throw ContractRules.Rule($"{manager.Reference} leads no family-doctor team at {station?.Reference}; give the team as the 'team' parameter.", "Parameters.parameter[careManager]");
    }

    private static string Day(DateTime day) => day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    private static string Code(EpisodeOfCare.EpisodeOfCareStatus? s) => s is { } v ? Hl7.Fhir.Utility.EnumUtility.GetLiteral(v) ?? v.ToString() : "(none)";
}
