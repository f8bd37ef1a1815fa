using Hl7.Fhir.Model;
using static Interop.Server.Seed.SeedFhir;

namespace Interop.Server.Seed;

/// <summary>
/// Family doctor contracts and case management. About 39 % of residents hold an active contract (the group's
/// July 2017 figure): 68 % of those aged 65+ or chronically ill, 25 % of the others. A contract lasts one year
/// (start to start + 1 year − 1 day) with the GP leading a team at the resident's station; 45 % of contract holders
/// also have last year's contract (finished, ending the day before), a fifth of those with another GP of the
/// station; 6 % of the others let a contract lapse in the past year. A contracted resident with a chronic
/// condition is under case management for each condition, with their team.
/// </summary>
public static class Contracts
{
    public static void Add(Resident r)
    {
        var rng = r.Rng;
        r.Contracted = rng.NextDouble() < (r.Chronic || r.Age >= 65 ? .68 : .25);
        if (r.Contracted)
        {
            var start = r.AsOf.AddDays(-rng.Next(330));
            if (rng.NextDouble() < .45)
                Contract(r, $"{r.Id}-fdc-prev", rng.NextDouble() < .8 ? r.Team : Neighbour(r), start.AddYears(-1), EpisodeOfCare.EpisodeOfCareStatus.Finished);
            Contract(r, $"{r.Id}-fdc", r.Team, start, EpisodeOfCare.EpisodeOfCareStatus.Active);
            foreach (var (key, condition) in r.Conditions) CaseManagement(r, key, condition, start);
        }
        else if (rng.NextDouble() < .06)
            Contract(r, $"{r.Id}-fdc-prev", r.Team, r.AsOf.AddDays(-rng.Next(366, 700)), EpisodeOfCare.EpisodeOfCareStatus.Finished);
    }

    // Another team of the same station: team 1, or team 2 for team 1 (every station has 8 or 9, ids end in the team number).
    private static Team Neighbour(Resident r) =>
        new(r.Team.Id[..^1] + (r.Team.Id[^1] == '1' ? '2' : '1'), r.StationId, r.Team.GpId[..^1] + (r.Team.GpId[^1] == '1' ? '2' : '1'), "");

    private static void Contract(Resident r, string id, Team team, DateOnly start, EpisodeOfCare.EpisodeOfCareStatus status) =>
        r.Resources.Add(new EpisodeOfCare
        {
            Id = id,
            Meta = Profile("family-doctor-contract"),
            Status = status,
            Type = [Concept(EpisodeTypes, "family-doctor-contract", "Family doctor contract")],
            Patient = Ref("Patient", r.Id),
            ManagingOrganization = Ref("Organization", r.StationId),
            Period = new Period { Start = Day(start), End = Day(start.AddYears(1).AddDays(-1)) },
            CareManager = Ref("Practitioner", team.GpId),
            Team = [Ref("CareTeam", team.Id)],
        });

    private static void CaseManagement(Resident r, string key, string condition, DateOnly start)
    {
        var (sct, display, _, _) = Conditions.Codes[key];
        r.Resources.Add(new EpisodeOfCare
        {
            Id = $"{r.Id}-cm-{key}",
            Meta = Profile("case-management-episode"),
            Extension = [new Extension(IgBase + "StructureDefinition/chronic-condition", Concept(Snomed, sct, display))],
            Status = EpisodeOfCare.EpisodeOfCareStatus.Active,
            Type = [Concept(EpisodeTypes, "case-management", "Case management")],
            Diagnosis = [new EpisodeOfCare.DiagnosisComponent { Condition = Ref("Condition", condition), Rank = 1 }],
            Patient = Ref("Patient", r.Id),
            ManagingOrganization = Ref("Organization", r.StationId),
            Period = new Period { Start = Day(start) },
            CareManager = Ref("Practitioner", r.Team.GpId),
            Team = [Ref("CareTeam", r.Team.Id)],
        });
    }
}
