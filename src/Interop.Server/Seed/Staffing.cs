using Hl7.Fhir.Model;
using static Interop.Server.Seed.SeedFhir;

namespace Interop.Server.Seed;

/// <summary>A family doctor team: its CareTeam id, station and GP leader (a Practitioner id).</summary>
public sealed record Team(string Id, string StationId, string GpId, string GpName);

/// <summary>The directory's resources and what the resident generator and the accounts need to know of it.</summary>
public sealed record GroupDirectory(IReadOnlyList<Resource> Resources, IReadOnlyList<Team> Teams,
    IReadOnlyDictionary<string, IReadOnlyList<string>> HospitalPhysicians, string AnalystId, string AuditorId);

/// <summary>
/// The group's staff, fixed (the same on every run, whatever the seed): 194 GPs over the 23 stations (9 at
/// stations 01–10, 8 at 11–23), one nurse per GP, a public health physician per two GPs and a health promotion
/// practitioner per three; 90 physicians and 60 nurses per district hospital; 20 at the institute; an
/// information analyst and a quality auditor. 1,331 practitioners, each with a group-practitioner-role, and one
/// family-doctor-team per GP (the GP leads it; a hospital internist is its specialist).
/// </summary>
public static class Staffing
{
    public const int Seed = 20170901; // names only: the directory does not depend on the residents' seed

    private static readonly string[] Specialties =
        ["Internal medicine", "Geriatrics", "Paediatrics", "Endocrinology", "Cardiology", "Psychiatry", "General surgery", "Emergency medicine", "Orthopaedics", "Rehabilitation medicine"];

    private static readonly Dictionary<string, string> RoleDisplay = new()
    {
        ["gp-leader"] = "General practitioner (team leader)", ["nurse"] = "Nurse", ["public-health-physician"] = "Public health physician",
        ["health-promotion"] = "Health promotion practitioner", ["specialist"] = "Specialist",
    };

    public static int GpsAt(int station) => station <= 10 ? 9 : 8;

    public static GroupDirectory Build()
    {
        var rng = new Random(Seed);
        var resources = new List<Resource>(Institutions.Organizations());
        var names = new Dictionary<string, string>();
        void Person(string id, string org, string? role, string? specialty)
        {
            var female = rng.NextDouble() < (role == "nurse" ? 0.9 : 0.5);
            var (family, given) = Names.Of(rng, female);
            names[id] = $"{family} {given}";
            resources.Add(new Practitioner
            {
                Id = id, Active = true, Gender = female ? AdministrativeGender.Female : AdministrativeGender.Male,
                Name = [new HumanName { Use = HumanName.NameUse.Official, Text = names[id], Family = family, Given = [given] }],
            });
            resources.Add(new PractitionerRole
            {
                Id = id + "-role", Meta = Profile("group-practitioner-role"), Active = true,
                Practitioner = Ref("Practitioner", id, names[id]), Organization = Ref("Organization", org),
                Code = [role is null ? Text(specialty!) : Concept(TeamRoles, role, RoleDisplay[role])],
                Specialty = role is not null && specialty is not null ? [Text(specialty)] : [],
            });
        }

        var physicians = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var h in Institutions.Hospitals)
        {
            var ids = Enumerable.Range(1, 90).Select(k => $"doc-{h.Id}-{k:D2}").ToList();
            for (var k = 0; k < ids.Count; k++) Person(ids[k], h.Id, "specialist", Specialties[k % Specialties.Length]);
            for (var k = 1; k <= 60; k++) Person($"nurse-{h.Id}-{k:D2}", h.Id, "nurse", null);
            physicians[h.Id] = ids;
        }
        for (var k = 1; k <= 20; k++) Person($"lab-{k:D2}", Institutions.Institute, "specialist", "Laboratory medicine");
        Person("analyst-1", Institutions.Information, null, "Information analyst");
        Person("auditor-1", Institutions.Quality, null, "Quality auditor");

        var teams = new List<Team>();
        for (var s = 1; s <= Institutions.Stations.Count; s++)
        {
            var station = Institutions.Stations[s - 1];
            var gps = GpsAt(s);
            for (var t = 1; t <= gps; t++) { Person($"gp-s{s:D2}-{t}", station.Id, "gp-leader", "General practice"); Person($"nurse-s{s:D2}-{t}", station.Id, "nurse", null); }
            for (var k = 1; k <= (gps + 1) / 2; k++) Person($"php-s{s:D2}-{k}", station.Id, "public-health-physician", null);
            for (var k = 1; k <= (gps + 2) / 3; k++) Person($"hp-s{s:D2}-{k}", station.Id, "health-promotion", null);
            var internists = physicians[station.PartOf!].Where((_, k) => k % Specialties.Length == 0).ToList();
            for (var t = 1; t <= gps; t++)
            {
                var team = new Team($"team-s{s:D2}-{t}", station.Id, $"gp-s{s:D2}-{t}", names[$"gp-s{s:D2}-{t}"]);
                teams.Add(team);
                (string Role, string Member)[] members =
                [
                    ("gp-leader", team.GpId), ("nurse", $"nurse-s{s:D2}-{t}"), ("public-health-physician", $"php-s{s:D2}-{(t + 1) / 2}"),
                    ("health-promotion", $"hp-s{s:D2}-{(t + 2) / 3}"), ("specialist", internists[(s + t) % internists.Count]),
                ];
                resources.Add(new CareTeam
                {
                    Id = team.Id, Meta = Profile("family-doctor-team"), Status = CareTeam.CareTeamStatus.Active,
                    Name = $"{station.Name} family doctor team {t}",
                    Participant = [.. members.Select(m => new CareTeam.ParticipantComponent
                    {
                        Role = [Concept(TeamRoles, m.Role, RoleDisplay[m.Role])], Member = Ref("Practitioner", m.Member, names[m.Member]),
                    })],
                    ManagingOrganization = [Ref("Organization", station.Id)],
                });
            }
        }
        return new GroupDirectory(resources, teams, physicians, "analyst-1", "auditor-1");
    }
}
