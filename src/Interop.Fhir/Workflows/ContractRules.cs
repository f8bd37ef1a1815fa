using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Storage;
using Interop.Fhir.Transactions;

namespace Interop.Fhir.Workflows;

/// <summary>
/// The family-doctor contract (an EpisodeOfCare of type family-doctor-contract): at most one active contract per
/// resident (a second is 409 naming the first), a period of at most one year, a care manager who leads a
/// family-doctor team at the managing station, and no change of GP or resident within a contract: a resident
/// switches GP at renewal ($renew) or after a termination that gives its reason.
/// </summary>
public sealed class ContractRules(RuleReads reads) : IWriteRule
{
    /// <summary>Advisory lock namespace: one resident's contracts are checked and written one transaction at a time.</summary>
    public const int ContractLocks = 4242004;

    public bool Governs(string type) => type == "EpisodeOfCare";

    public async Task Check(RuleWrite write, CancellationToken ct)
    {
        if (write.Resource is not EpisodeOfCare contract || !GroupCodes.IsContract(contract)) return;
        CheckPeriod(contract);
        var previous = write.Before as EpisodeOfCare;
        if (GroupCodes.IsContract(previous)) CheckChange(previous!, contract, write.BaseUrl);
        if (contract.Status == EpisodeOfCare.EpisodeOfCareStatus.Active) await CheckOnlyActive(write, contract, ct);
        var manager = RuleReads.Key(contract.CareManager, write.BaseUrl);
        if (contract.Status is EpisodeOfCare.EpisodeOfCareStatus.Active or EpisodeOfCare.EpisodeOfCareStatus.Planned
            && manager is not null && RuleReads.Key(previous?.CareManager, write.BaseUrl) != manager)
            await CheckCareManager(write, contract, manager, ct);
    }

    private static void CheckPeriod(EpisodeOfCare contract)
    {
        if (contract.Period?.StartElement?.ToDateTimeOffset(TimeSpan.Zero) is not { } start
            || contract.Period.EndElement?.ToDateTimeOffset(TimeSpan.Zero) is not { } end) return;
        if (end > start.AddYears(1))
            throw Rule($"A family-doctor contract lasts at most one year: {contract.Period.Start} to {contract.Period.End} is longer.", "EpisodeOfCare.period");
    }

    // Within one contract the resident and the GP stay; a finished contract is not reopened; ending early needs a reason.
    private static void CheckChange(EpisodeOfCare before, EpisodeOfCare after, string baseUrl)
    {
        if (RuleReads.Key(before.Patient, baseUrl) != RuleReads.Key(after.Patient, baseUrl))
            throw Rule("A contract's resident cannot change; the new resident signs a contract of their own.", "EpisodeOfCare.patient");
        var active = before.Status == EpisodeOfCare.EpisodeOfCareStatus.Active;
        if (active && after.Status == EpisodeOfCare.EpisodeOfCareStatus.Active
            && RuleReads.Key(before.CareManager, baseUrl) is { } gp && RuleReads.Key(after.CareManager, baseUrl) != gp)
            throw Rule($"A resident switches GP only at renewal (EpisodeOfCare/{before.Id}/$renew with careManager) or after terminating the contract with a reason; the care manager stays {gp}.",
                "EpisodeOfCare.careManager");
        if (before.Status is EpisodeOfCare.EpisodeOfCareStatus.Finished or EpisodeOfCare.EpisodeOfCareStatus.Cancelled
            && after.Status is not (EpisodeOfCare.EpisodeOfCareStatus.Finished or EpisodeOfCare.EpisodeOfCareStatus.Cancelled or EpisodeOfCare.EpisodeOfCareStatus.EnteredInError))
            throw FhirException.Conflict($"EpisodeOfCare/{before.Id} is {before.Status?.ToString().ToLowerInvariant()}; a contract that ended is not reopened: sign a new one or renew it.");
        var endsEarly = after.Period?.EndElement?.ToDateTimeOffset(TimeSpan.Zero) is not { } end || end > DateTimeOffset.UtcNow;
        if (active && after.Status is EpisodeOfCare.EpisodeOfCareStatus.Finished or EpisodeOfCare.EpisodeOfCareStatus.Cancelled
            && endsEarly && !after.Extension.Any(x => x.Url == GroupCodes.TerminationReason && x.Value is not null))
            throw Rule($"Terminating a contract before its end needs the reason: extension {GroupCodes.TerminationReason}.", "EpisodeOfCare.extension");
    }

    private async Task CheckOnlyActive(RuleWrite write, EpisodeOfCare contract, CancellationToken ct)
    {
        if (RuleReads.Key(contract.Patient, write.BaseUrl) is not { } patient) return;
        await write.Unit.Lock(ContractLocks, [patient], ct);
        var others = await reads.Search(write, "EpisodeOfCare",
            $"patient={patient}&status=active&type={GroupCodes.EpisodeType}|family-doctor-contract",
            r => r.Id != contract.Id && r is EpisodeOfCare { Status: EpisodeOfCare.EpisodeOfCareStatus.Active } e
                 && GroupCodes.IsContract(e) && RuleReads.Key(e.Patient, write.BaseUrl) == patient, ct, limit: 5);
        if (others.FirstOrDefault() is EpisodeOfCare existing)
            throw FhirException.Conflict(
                $"{patient} already has an active family-doctor contract: EpisodeOfCare/{existing.Id} (care manager {existing.CareManager?.Reference}, " +
                $"until {existing.Period?.End}). End it (with a reason) or renew it with EpisodeOfCare/{existing.Id}/$renew.");
    }

    // The care manager leads a family-doctor team (role gp-leader) whose managing organisation is the contract's station.
    private async Task CheckCareManager(RuleWrite write, EpisodeOfCare contract, string manager, CancellationToken ct)
    {
        if (RuleReads.Key(contract.ManagingOrganization, write.BaseUrl) is not { } station) return;
        var members = new HashSet<string>(StringComparer.Ordinal) { manager };
        if (manager.StartsWith("Practitioner/", StringComparison.Ordinal))
            foreach (var role in await reads.Search(write, "PractitionerRole", $"practitioner={manager}",
                         r => RuleReads.Key(((PractitionerRole)r).Practitioner, write.BaseUrl) == manager, ct))
                members.Add($"PractitionerRole/{role.Id}");
        else if (await reads.Read(write, manager, ct) is PractitionerRole { Practitioner: { } p } && RuleReads.Key(p, write.BaseUrl) is { } practitioner)
            members.Add(practitioner);
        var teams = await reads.Search(write, "CareTeam", $"participant={string.Join(',', members)}", r => r is CareTeam, ct);
        var leads = teams.Cast<CareTeam>().Any(t =>
            t.Status is not (CareTeam.CareTeamStatus.Inactive or CareTeam.CareTeamStatus.EnteredInError)
            && t.ManagingOrganization.Any(o => RuleReads.Key(o, write.BaseUrl) == station)
            && t.Participant.Any(p => RuleReads.Key(p.Member, write.BaseUrl) is { } m && members.Contains(m) && GroupCodes.Has(p.Role, GroupCodes.TeamRole, "gp-leader")));
        if (!leads)
            throw Rule($"The care manager {manager} is not the GP (gp-leader) of a family-doctor team (CareTeam) managed by {station}, the contract's station.",
                "EpisodeOfCare.careManager");
    }

    internal static FhirException Rule(string message, string expression) =>
        FhirException.Of(ErrorKind.Unprocessable, OperationOutcome.IssueType.BusinessRule, message, expression);
}
