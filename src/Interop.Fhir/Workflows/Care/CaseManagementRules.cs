using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Transactions;

namespace Interop.Fhir.Workflows.Care;

/// <summary>
/// The case-management episode (an EpisodeOfCare of type case-management), however it is written ($enrol, POST,
/// PUT, a transaction): at most one active episode per resident and condition (a second is 409 naming the first),
/// and a team shared by a hospital and a station — among the participants of its CareTeams at least one acts for a
/// hospital and one for a station. A participant acts for its <c>onBehalfOf</c>, else for the organisation of the
/// PractitionerRole (or the Organization) it is, else for its team's managing organisation. Checked when an
/// episode becomes active or planned, or when its team changes; the server's own tools (seed, import) load history
/// as it was.
/// </summary>
public sealed class CaseManagementRules(RuleReads reads) : IWriteRule
{
    /// <summary>Advisory lock namespace: one resident's episodes are checked and written one transaction at a time.</summary>
    public const int EpisodeLocks = 4242013;

    public bool Governs(string type) => type == "EpisodeOfCare";

    public async Task Check(RuleWrite write, CancellationToken ct)
    {
        if (write.Trusted || write.Resource is not EpisodeOfCare episode || !CareCodes.IsCaseManagement(episode)) return;
        if (episode.Status is not (EpisodeOfCare.EpisodeOfCareStatus.Active or EpisodeOfCare.EpisodeOfCareStatus.Planned)) return;
        var previous = write.Before as EpisodeOfCare;
        if (episode.Status == EpisodeOfCare.EpisodeOfCareStatus.Active) await CheckOnlyActive(write, episode, ct);
        var teams = episode.Team.Select(t => RuleReads.Key(t, write.BaseUrl)).OfType<string>().ToList();
        var before = previous?.Team.Select(t => RuleReads.Key(t, write.BaseUrl)).OfType<string>() ?? [];
        if (previous?.Status != episode.Status || !teams.SequenceEqual(before)) await CheckTeam(write, teams, ct);
    }

    private async Task CheckOnlyActive(RuleWrite write, EpisodeOfCare episode, CancellationToken ct)
    {
        if (RuleReads.Key(episode.Patient, write.BaseUrl) is not { } patient) return;
        var conditions = episode.Diagnosis.Select(d => RuleReads.Key(d.Condition, write.BaseUrl)).OfType<string>().ToHashSet();
        if (conditions.Count == 0) return;
        await write.Unit.Lock(EpisodeLocks, [patient], ct);
        var others = await reads.Search(write, "EpisodeOfCare", $"patient={patient}&status=active&type={GroupCodes.EpisodeType}|case-management",
            r => r.Id != episode.Id && r is EpisodeOfCare { Status: EpisodeOfCare.EpisodeOfCareStatus.Active } e && CareCodes.IsCaseManagement(e)
                 && RuleReads.Key(e.Patient, write.BaseUrl) == patient
                 && e.Diagnosis.Any(d => RuleReads.Key(d.Condition, write.BaseUrl) is { } c && conditions.Contains(c)), ct, limit: 20);
        if (others.FirstOrDefault() is EpisodeOfCare existing)
            throw FhirException.Conflict(
                $"{patient} is already under case management for {string.Join(", ", conditions)}: EpisodeOfCare/{existing.Id} (active, managed by " +
                $"{existing.ManagingOrganization?.Reference}). Finish it before enrolling again.");
    }

    private async Task CheckTeam(RuleWrite write, List<string> teams, CancellationToken ct)
    {
        var kinds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in teams)
        {
            if (await reads.Read(write, key, ct) is not CareTeam team) continue;
            foreach (var p in team.Participant)
            {
                var acting = p.OnBehalfOf ?? (await reads.Read(write, RuleReads.Key(p.Member, write.BaseUrl), ct) switch
                {
                    PractitionerRole role => role.Organization,
                    Organization => p.Member,
                    _ => team.ManagingOrganization.FirstOrDefault(),
                });
                if (CareCodes.KindOf(await reads.Read(write, RuleReads.Key(acting, write.BaseUrl), ct) as Organization) is { } kind) kinds.Add(kind);
            }
        }
        var missing = new[] { "hospital", "station" }.Where(k => !kinds.Contains(k)).ToList();
        if (missing.Count > 0)
            throw Nested.Unprocessable(
                $"A case-management team is shared by hospital specialists and station staff; the episode's CareTeams ({string.Join(", ", teams)}) have no " +
                $"participant acting for a {string.Join(" or a ", missing)} (participant.onBehalfOf, or a PractitionerRole of that institution). " +
                "Add a CareTeam with the hospital specialist (e.g. $enrol with specialist).", "EpisodeOfCare.team");
    }
}
