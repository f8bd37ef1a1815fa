using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Workflows;

/// <summary>
/// A small hospital group for workflow tests: a hospital and two stations (group organisations), three GPs each
/// leading a family-doctor team (two at station 1, one at station 2), a nurse, residents, and a system client per
/// institution acting for it.
/// </summary>
public sealed class GroupWorld : IAsyncLifetime
{
    public const string Kind = "https://interop.example/fhir/CodeSystem/institution-kind";
    public const string EpisodeType = "https://interop.example/fhir/CodeSystem/episode-type";
    public const string TeamRole = "https://interop.example/fhir/CodeSystem/team-role";
    public const string Profiles = "https://interop.example/fhir/StructureDefinition/";

    public FhirServerFixture Server { get; } = new();
    public string Group = "", Hospital = "", Station1 = "", Station2 = "", Gp1 = "", Gp2 = "", Gp3 = "", Nurse = "", Team1 = "", Team2 = "", Team3 = "";
    public HttpClient Admin = null!, HospitalClient = null!, Station1Client = null!, Station2Client = null!;

    public async System.Threading.Tasks.Task InitializeAsync()
    {
        await ((IAsyncLifetime)Server).InitializeAsync();
        Admin = Server.CreateClient();
        Group = await Admin.CreateId(Org("Group", "group", null));
        Hospital = await Admin.CreateId(Org("District hospital", "hospital", Group));
        Station1 = await Admin.CreateId(Org("Station one", "station", Hospital));
        Station2 = await Admin.CreateId(Org("Station two", "station", Hospital));
        Gp1 = await Admin.CreateId(Person("Chen"));
        Gp2 = await Admin.CreateId(Person("Li"));
        Gp3 = await Admin.CreateId(Person("Wang"));
        Nurse = await Admin.CreateId(Person("Zhao"));
        Team1 = await Admin.CreateId(Team(Station1, Gp1));
        Team2 = await Admin.CreateId(Team(Station1, Gp2));
        Team3 = await Admin.CreateId(Team(Station2, Gp3));
        var tag = Guid.NewGuid().ToString("N")[..6];
        HospitalClient = await Server.ClientWith("hosp-" + tag, "system/*.cruds", $"Organization/{Hospital}", "clinician");
        Station1Client = await Server.ClientWith("st1-" + tag, "system/*.cruds", $"Organization/{Station1}", "clinician");
        Station2Client = await Server.ClientWith("st2-" + tag, "system/*.cruds", $"Organization/{Station2}", "clinician");
    }

    public async System.Threading.Tasks.Task DisposeAsync() => await ((IAsyncLifetime)Server).DisposeAsync();

    public static ResourceReference Ref(string type, string id) => new($"{type}/{id}");

    private static Organization Org(string name, string kind, string? partOf) => new()
    {
        Meta = new Meta { Profile = [Profiles + "group-organization"] },
        Identifier = [new Identifier("https://interop.example/fhir/sid/institution-code", Guid.NewGuid().ToString("N")[..8])],
        Name = name, Type = [new CodeableConcept(Kind, kind)], PartOf = partOf is null ? null : Ref("Organization", partOf),
    };

    private static Practitioner Person(string family) => new() { Name = [new HumanName { Family = family }] };

    private CareTeam Team(string station, string gp) => new()
    {
        Status = CareTeam.CareTeamStatus.Active, ManagingOrganization = [Ref("Organization", station)],
        Participant =
        [
            new CareTeam.ParticipantComponent { Role = [new CodeableConcept(TeamRole, "gp-leader")], Member = Ref("Practitioner", gp) },
            new CareTeam.ParticipantComponent { Role = [new CodeableConcept(TeamRole, "nurse")], Member = Ref("Practitioner", Nurse) },
        ],
    };

    public Task<string> Resident() => Admin.CreateId(new Patient { Name = [new HumanName { Family = "Resident" }], Gender = AdministrativeGender.Female });

    /// <summary>An active FamilyDoctorContract from today for a year (or the period given).</summary>
    public EpisodeOfCare Contract(string patient, string gp, string team, string? station = null, string? start = null, string? end = null) => new()
    {
        Status = EpisodeOfCare.EpisodeOfCareStatus.Active,
        Type = [new CodeableConcept(EpisodeType, "family-doctor-contract")],
        Patient = Ref("Patient", patient), ManagingOrganization = Ref("Organization", station ?? Station1),
        Period = new Period { Start = start ?? Today(0), End = end ?? Today(364) },
        CareManager = Ref("Practitioner", gp), Team = [Ref("CareTeam", team)],
    };

    public static string Today(int days) => DateTimeOffset.UtcNow.AddHours(8).AddDays(days).ToString("yyyy-MM-dd");
}
