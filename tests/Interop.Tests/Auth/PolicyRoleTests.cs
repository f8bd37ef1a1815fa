using System.Net;
using Hl7.Fhir.Model;
using Interop.Fhir.Storage;
using Interop.Tests.Infrastructure;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Interop.Tests.Auth;

/// <summary>
/// Care relationships through a PractitionerRole: a CareTeam member, an EpisodeOfCare's care manager, an
/// Encounter's participant or a referral's performer that is one of an institution's roles gives the institution the relationship, as naming
/// its Organization does; a bare Practitioner does not; a role written later moves the relationships made through
/// it; `reindex` derives the same rows.
/// </summary>
public sealed class PolicyRoleTests(PolicyRoleTests.World world) : IClassFixture<PolicyRoleTests.World>
{
    public sealed class World : IAsyncLifetime
    {
        public AuthFixture Server { get; } = new();
        public string Station = "", Hospital = "", Other = "", Doctor = "";
        public HttpClient Admin = null!, StationClient = null!, HospitalClient = null!, OtherClient = null!;
        public TestData Data = null!;

        public async System.Threading.Tasks.Task InitializeAsync()
        {
            await ((IAsyncLifetime)Server).InitializeAsync();
            Admin = Server.CreateClient();
            Data = new TestData(Admin);
            Station = await Data.Create(new Organization { Name = "Station" });
            Hospital = await Data.Create(new Organization { Name = "Hospital" });
            Other = await Data.Create(new Organization { Name = "Elsewhere" });
            Doctor = await Data.Create(new Practitioner { Name = [new HumanName { Family = "Doctor" }] });
            var tag = Guid.NewGuid().ToString("N")[..6];
            StationClient = await Server.ClientWith("station-" + tag, "system/*.cruds", $"Organization/{Station}", "clinician");
            HospitalClient = await Server.ClientWith("hospital-" + tag, "system/*.cruds", $"Organization/{Hospital}", "clinician");
            OtherClient = await Server.ClientWith("other-" + tag, "system/*.cruds", $"Organization/{Other}", "clinician");
        }

        public async System.Threading.Tasks.Task DisposeAsync() => await ((IAsyncLifetime)Server).DisposeAsync();
    }

    private static ResourceReference Ref(string type, string id) => new($"{type}/{id}");

    private Task<string> Resident(string family) => world.Data.Create(new Patient { Name = [new HumanName { Family = family }] });

    private Task<string> Role(string organization, bool? active = null) => world.Data.Create(new PractitionerRole
    {
        Practitioner = Ref("Practitioner", world.Doctor), Organization = Ref("Organization", organization), Active = active,
    });

    private Task<string> Team(string patient, params ResourceReference[] members) => world.Data.Create(new CareTeam
    {
        Status = CareTeam.CareTeamStatus.Active, Subject = Ref("Patient", patient),
        Participant = members.Select(m => new CareTeam.ParticipantComponent { Member = m }).ToList(),
    });

    private static async Task<List<string>> Observations(HttpClient client, string patient)
    {
        var response = await client.GetAsync($"/fhir/Observation?subject=Patient/{patient}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return TestData.Matches(await response.ReadJson());
    }

    private static async Task<HttpStatusCode> Read(HttpClient client, string patient) => (await client.GetAsync($"/fhir/Patient/{patient}")).StatusCode;

    [Fact]
    public async Task A_care_team_naming_only_a_stations_practitioner_role_opens_the_resident_to_that_station_alone()
    {
        var role = await Role(world.Station);
        var resident = await Resident("TeamByRole");
        var known = await Resident("KnownDirectly");
        await world.Data.Create(new EpisodeOfCare
        {
            Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = Ref("Patient", known), ManagingOrganization = Ref("Organization", world.Station),
        });
        var observation = await world.Data.Create(new Observation
        {
            Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "8867-4"), Subject = Ref("Patient", resident),
        });
        Assert.Equal(HttpStatusCode.Forbidden, await Read(world.StationClient, resident));

        await Team(resident, Ref("PractitionerRole", role));
        Assert.Equal(HttpStatusCode.OK, await Read(world.StationClient, resident));
        Assert.Contains(observation, await Observations(world.StationClient, resident));
        // It loses nothing it had; another institution gains nothing.
        Assert.Equal(HttpStatusCode.OK, await Read(world.StationClient, known));
        Assert.Equal(HttpStatusCode.Forbidden, await Read(world.OtherClient, resident));
        Assert.Equal(HttpStatusCode.Forbidden, await Read(world.HospitalClient, resident));
        Assert.Empty(await Observations(world.OtherClient, resident));
        Assert.Equal(HttpStatusCode.Forbidden, (await world.OtherClient.GetAsync($"/fhir/Observation/{observation}")).StatusCode);
    }

    [Fact]
    public async Task A_care_manager_an_encounter_participant_and_a_referrals_performer_that_are_roles_count_and_a_bare_practitioner_does_not()
    {
        var role = await Role(world.Hospital);
        var managed = await Resident("ManagedByRole");
        var seen = await Resident("SeenByRole");
        var referred = await Resident("ReferredToRole");
        var named = await Resident("NamedPractitioner");
        await world.Data.Create(new EpisodeOfCare
        {
            Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = Ref("Patient", managed), CareManager = Ref("PractitionerRole", role),
        });
        await world.Data.Create(new Encounter
        {
            Status = Encounter.EncounterStatus.InProgress, Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"),
            Subject = Ref("Patient", seen), Participant = [new Encounter.ParticipantComponent { Individual = Ref("PractitionerRole", role) }],
        });
        await world.Data.Create(new ServiceRequest
        {
            Status = RequestStatus.Active, Intent = RequestIntent.Order, Subject = Ref("Patient", referred), Performer = [Ref("PractitionerRole", role)],
        });
        // The doctor's only role is at the hospital, but a bare Practitioner does not say which institution it acts for.
        await Team(named, Ref("Practitioner", world.Doctor));

        Assert.Equal(HttpStatusCode.OK, await Read(world.HospitalClient, managed));
        Assert.Equal(HttpStatusCode.OK, await Read(world.HospitalClient, seen));
        Assert.Equal(HttpStatusCode.OK, await Read(world.HospitalClient, referred));
        Assert.Equal(HttpStatusCode.Forbidden, await Read(world.HospitalClient, named));
        foreach (var patient in new[] { managed, seen, referred, named })
            Assert.Equal(HttpStatusCode.Forbidden, await Read(world.StationClient, patient));
    }

    [Fact]
    public async Task A_role_written_later_moves_the_relationships_made_through_it()
    {
        var roleId = "role-" + Guid.NewGuid().ToString("N")[..12];
        var resident = await Resident("RoleLater");
        // The team names a role that does not exist yet: no institution for now.
        await Team(resident, Ref("PractitionerRole", roleId));
        Assert.Equal(HttpStatusCode.Forbidden, await Read(world.StationClient, resident));

        async Task PutRole(string organization, bool? active = null) => await world.Data.Put(new PractitionerRole
        {
            Id = roleId, Practitioner = Ref("Practitioner", world.Doctor), Organization = Ref("Organization", organization), Active = active,
        });
        await PutRole(world.Station);
        Assert.Equal(HttpStatusCode.OK, await Read(world.StationClient, resident));
        Assert.Equal(HttpStatusCode.Forbidden, await Read(world.OtherClient, resident));

        // The practitioner moves to another institution: the relationship follows the role.
        await PutRole(world.Other);
        Assert.Equal(HttpStatusCode.Forbidden, await Read(world.StationClient, resident));
        Assert.Equal(HttpStatusCode.OK, await Read(world.OtherClient, resident));

        // An inactive role, or a deleted one, stands for no institution.
        await PutRole(world.Other, active: false);
        Assert.Equal(HttpStatusCode.Forbidden, await Read(world.OtherClient, resident));
        await PutRole(world.Other, active: true);
        Assert.Equal(HttpStatusCode.OK, await Read(world.OtherClient, resident));
        Assert.Equal(HttpStatusCode.NoContent, (await world.Admin.DeleteAsync($"/fhir/PractitionerRole/{roleId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, await Read(world.OtherClient, resident));
        Assert.Equal(HttpStatusCode.Forbidden, await Read(world.StationClient, resident));
    }

    [Fact]
    public async Task A_role_and_a_team_naming_it_in_one_transaction_make_the_relationship_whichever_is_written_first()
    {
        foreach (var roleFirst in new[] { true, false })
        {
            var resident = await Resident("InOneTransaction");
            var roleUrl = $"urn:uuid:{Guid.NewGuid()}";
            var role = new Bundle.EntryComponent
            {
                FullUrl = roleUrl,
                Resource = new PractitionerRole { Practitioner = Ref("Practitioner", world.Doctor), Organization = Ref("Organization", world.Station) },
                Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "PractitionerRole" },
            };
            var team = new Bundle.EntryComponent
            {
                Resource = new CareTeam
                {
                    Status = CareTeam.CareTeamStatus.Active, Subject = Ref("Patient", resident),
                    Participant = [new CareTeam.ParticipantComponent { Member = new ResourceReference(roleUrl) }],
                },
                Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "CareTeam" },
            };
            var bundle = new Bundle { Type = Bundle.BundleType.Transaction, Entry = roleFirst ? [role, team] : [team, role] };
            var response = await world.Admin.PostAsync("/fhir", FhirTest.Body(bundle));
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.OK, await Read(world.StationClient, resident));
            Assert.Equal(HttpStatusCode.Forbidden, await Read(world.OtherClient, resident));
        }
    }

    [Fact]
    public async Task An_institution_cannot_move_another_institutions_role()
    {
        var hospitalRole = await world.HospitalClient.CreateId(new PractitionerRole
        {
            Practitioner = Ref("Practitioner", world.Doctor), Organization = Ref("Organization", world.Hospital),
        });
        var resident = await Resident("RoleGuarded");
        await Team(resident, Ref("PractitionerRole", hospitalRole));
        Assert.Equal(HttpStatusCode.OK, await Read(world.HospitalClient, resident));
        var moved = await world.StationClient.PutAsync($"/fhir/PractitionerRole/{hospitalRole}", FhirTest.Body(new PractitionerRole
        {
            Id = hospitalRole, Practitioner = Ref("Practitioner", world.Doctor), Organization = Ref("Organization", world.Station),
        }));
        Assert.Equal(HttpStatusCode.Forbidden, moved.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, await Read(world.StationClient, resident));
        Assert.Equal(HttpStatusCode.OK, await Read(world.HospitalClient, resident));
    }

    [Fact]
    public async Task Reindex_derives_the_same_relationships_including_those_through_roles()
    {
        var role = await Role(world.Station);
        var resident = await Resident("Reindexed");
        await Team(resident, Ref("PractitionerRole", role), Ref("Organization", world.Hospital));
        var db = world.Server.Services.GetRequiredService<NpgsqlDataSource>();
        var before = await Rows(db);
        Assert.Contains(before, r => r.EndsWith($"|Organization/{world.Station}|careteam||{CompactKeys.Rid("PractitionerRole/" + role)}"));
        Assert.Contains(before, r => r.EndsWith($"|Organization/{world.Hospital}|careteam||"));

        await using (var wipe = db.CreateCommand("delete from fhir.care_relationship")) await wipe.ExecuteNonQueryAsync();
        Assert.Equal(HttpStatusCode.Forbidden, await Read(world.StationClient, resident));
        await world.Server.Services.GetRequiredService<Reindexer>().Run(500, _ => { }, CancellationToken.None);
        Assert.Equal(before, await Rows(db));
        Assert.Equal(HttpStatusCode.OK, await Read(world.StationClient, resident));
    }

    private static async Task<List<string>> Rows(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand(
            "select concat_ws('|', source_rid, patient_rid, institution, kind, coalesce(ended::text, ''), coalesce(via_rid::text, '')) from fhir.care_relationship order by 1");
        var rows = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows.Add(reader.GetString(0));
        return rows;
    }
}
