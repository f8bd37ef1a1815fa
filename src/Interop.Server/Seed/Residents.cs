using Hl7.Fhir.Model;
using static Interop.Server.Seed.SeedFhir;

namespace Interop.Server.Seed;

/// <summary>
/// Synthetic residents, deterministic: resident i of seed S comes from its own System.Random (seeded from S and i),
/// so it is the same whatever the number generated, and its ids (r{S}-{i:D6}…) differ between seeds. Each is a
/// group-patient registered at a station, with chronic conditions by age, family doctor contracts (at most one
/// active), case management, encounters, observations and referrals (see SEED-README-SECTION.md for the figures).
/// </summary>
public sealed class Residents(GroupDirectory directory, int seed, DateOnly asOf)
{
    /// <summary>The default reference day (dates are relative to it, so output does not depend on the clock).</summary>
    public static readonly DateOnly DefaultAsOf = new(2026, 11, 1);

    // Age pyramid of an urban Chinese population (2020 census, rounded): band (from, to) and per cent.
    private static readonly ((int From, int To) Band, double Weight)[] Ages =
    [
        ((0, 4), 5), ((5, 14), 12), ((15, 24), 11), ((25, 34), 17), ((35, 44), 15),
        ((45, 54), 16), ((55, 64), 12), ((65, 74), 8), ((75, 84), 3.5), ((85, 99), 0.5),
    ];

    public int Seed => seed;

    public string IdOf(int index) => $"r{seed}-{index:D6}";

    /// <summary>The resources of resident <paramref name="index"/> (1-based), in an order that stores referenced ones first.</summary>
    public IReadOnlyList<Resource> Generate(int index)
    {
        var rng = new Random(unchecked(seed * 1_000_003 + index));
        var team = directory.Teams[rng.Next(directory.Teams.Count)];
        var (from, to) = Pick(rng, Ages);
        var resident = new Resident(IdOf(index), rng, team, Institutions.HospitalOf(int.Parse(team.StationId[^2..])), from + rng.Next(to - from + 1), asOf);
        var female = rng.NextDouble() < 0.49;
        var patient = Patient(resident, index, female);
        resident.Resources.Add(patient);
        Conditions.Add(resident);
        Contracts.Add(resident);
        if (resident.Contracted) patient.GeneralPractitioner = [Ref("Practitioner", team.GpId, team.GpName)];
        CareEvents.Add(resident);
        Referrals.Add(resident, directory);
        return resident.Resources;
    }

    /// <summary>
    /// Residents whose record shows every part of the residents' app — an active family-doctor contract, blood pressure or
    /// HbA1c results, a referral — among the first <paramref name="among"/>: the demo's resident sign-ins.
    /// </summary>
    public IEnumerable<int> Showcase(int among) => Enumerable.Range(1, among).Where(i =>
    {
        var resources = Generate(i);
        return resources.OfType<EpisodeOfCare>().Any(e => e.Status == EpisodeOfCare.EpisodeOfCareStatus.Active && e.Type.Any(t => t.Coding.Any(c => c.Code == "family-doctor-contract")))
               && resources.OfType<Observation>().Count() >= 2 && resources.OfType<Hl7.Fhir.Model.Task>().Any();
    });

    private Patient Patient(Resident r, int index, bool female)
    {
        var (family, given) = Names.Of(r.Rng, female);
        var birth = asOf.AddYears(-r.Age).AddDays(-r.Rng.Next(365));
        return new Patient
        {
            Id = r.Id,
            Meta = Profile("group-patient"),
            Identifier =
            [
                new Identifier(IgBase + "sid/resident-id", $"RES-{seed}-{index:D6}") { Use = Identifier.IdentifierUse.Official },
                new Identifier(IgBase + "sid/mrn/" + r.StationId, $"STA{r.StationId[^2..]}-{seed}-{index:D6}")
                {
                    Use = Identifier.IdentifierUse.Usual,
                    Type = Concept("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number"),
                    Assigner = Ref("Organization", r.StationId),
                },
            ],
            Active = true,
            Name = [new HumanName { Use = HumanName.NameUse.Official, Text = $"{family} {given}", Family = family, Given = [given] }],
            Gender = female ? AdministrativeGender.Female : AdministrativeGender.Male,
            BirthDate = Day(birth),
            ManagingOrganization = Ref("Organization", r.StationId),
        };
    }
}
