using Hl7.Fhir.Model;
using Interop.Fhir.Formats;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Validation;
using Interop.Server.Seed;
using Interop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Interop.Tests.Workflows;

/// <summary>
/// ./interop.sh seed: the generators are deterministic, everything they make validates against the group's
/// profiles, the residents' distribution is roughly the domain's, and a seed through the bulk importer stores
/// it all (again, idempotently) with accounts that work.
/// </summary>
public sealed class SeedTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    private static readonly GroupDirectory Directory = Staffing.Build();

    [Fact]
    public void The_showcase_residents_have_an_active_contract_results_and_a_referral()
    {
        var generator = new Residents(Directory, 1, Residents.DefaultAsOf);
        var showcase = generator.Showcase(300).Take(5).ToList();
        Assert.Equal(5, showcase.Count);
        foreach (var i in showcase)
        {
            var resources = generator.Generate(i);
            Assert.Contains(resources.OfType<EpisodeOfCare>(), e => e.Status == EpisodeOfCare.EpisodeOfCareStatus.Active && e.Type[0].Coding[0].Code == "family-doctor-contract");
            Assert.True(resources.OfType<Observation>().Count() >= 2);
            Assert.NotEmpty(resources.OfType<Hl7.Fhir.Model.Task>());
        }
        // and most residents are not (the first one of seed 1 has none of it)
        Assert.DoesNotContain(1, showcase);
    }

    private static List<string> Json(int seed, int from, int to) =>
        [.. Enumerable.Range(from, to - from + 1).SelectMany(new Residents(Directory, seed, Residents.DefaultAsOf).Generate).Select(FhirSerialization.ToJson)];

    [Fact]
    public void The_same_seed_gives_the_same_resources_and_another_seed_other_ids()
    {
        Assert.Equal(Staffing.Build().Resources.Select(FhirSerialization.ToJson), Directory.Resources.Select(FhirSerialization.ToJson));
        var once = Json(7, 1, 30);
        Assert.Equal(once, Json(7, 1, 30));
        Assert.Equal(Json(7, 21, 30), Json(7, 1, 30).Skip(Json(7, 1, 20).Count)); // resident i does not depend on how many
        var ids = Enumerable.Range(1, 30).SelectMany(new Residents(Directory, 8, Residents.DefaultAsOf).Generate).Select(r => r.Id).ToHashSet();
        Assert.DoesNotContain(Enumerable.Range(1, 30).SelectMany(new Residents(Directory, 7, Residents.DefaultAsOf).Generate), r => ids.Contains(r.Id));
        Assert.Equal(SeedAccounts.Secret(1, "station-01-emr"), SeedAccounts.Secret(1, "station-01-emr"));
        Assert.NotEqual(SeedAccounts.Secret(1, "station-01-emr"), SeedAccounts.Secret(2, "station-01-emr"));
    }

    [Fact]
    public void The_directory_has_the_groups_shape()
    {
        var organizations = Directory.Resources.OfType<Organization>().ToList();
        Assert.Equal(43, organizations.Count); // group, 5 hospitals, 23 stations, institute, 12 centres, the external hospital
        Assert.Equal(194, Directory.Teams.Count);
        Assert.All(Institutions.Stations, s => Assert.InRange(Directory.Teams.Count(t => t.StationId == s.Id), 8, 9));
        Assert.Equal(Directory.Teams.Count, Directory.Teams.Select(t => t.GpId).Distinct().Count()); // each GP leads one team
        Assert.InRange(Directory.Resources.OfType<Practitioner>().Count(), 1_000, 1_500);
        Assert.Null(organizations.Single(o => o.Id == Institutions.External).PartOf);
    }

    [Fact]
    public async System.Threading.Tasks.Task The_directory_and_residents_validate_against_the_profiles()
    {
        var validator = server.Services.GetRequiredService<ResourceValidator>();
        var residents = Enumerable.Range(1, 50).SelectMany(new Residents(Directory, 1, Residents.DefaultAsOf).Generate).ToList();
        Assert.Contains(residents, r => r is Hl7.Fhir.Model.Task); // the sample has referrals, contracts, observations
        Assert.Contains(residents, r => r is EpisodeOfCare);
        Assert.Contains(residents, r => r is Observation);
        var errors = new List<string>();
        foreach (var resource in Directory.Resources.Concat(residents))
        {
            var outcome = await validator.Validate(resource, null, ValidationMode.Profiles, CancellationToken.None);
            errors.AddRange(outcome.Issue.Where(ResourceValidator.IsError).Select(i => $"{resource.TypeName}/{resource.Id}: {i.Diagnostics} {i.Details?.Text} @ {string.Join(",", i.Expression)}"));
        }
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(20)));
        // The check is not vacuous: a team without its nurse is refused.
        var team = (CareTeam)Directory.Resources.OfType<CareTeam>().First().DeepCopy();
        team.Participant.RemoveAt(1);
        Assert.Contains((await validator.Validate(team, null, ValidationMode.Profiles, CancellationToken.None)).Issue, ResourceValidator.IsError);
    }

    [Fact]
    public void The_residents_are_distributed_roughly_as_the_domain_says()
    {
        var generator = new Residents(Directory, 1, Residents.DefaultAsOf);
        var teams = Directory.Teams.ToDictionary(t => t.Id);
        int contracted = 0, chronic = 0, adults = 0, hypertensive = 0;
        var states = new HashSet<string>();
        for (var i = 1; i <= 2000; i++)
        {
            var resources = generator.Generate(i);
            var patient = resources.OfType<Patient>().Single();
            var station = patient.ManagingOrganization.Reference;
            var contracts = resources.OfType<EpisodeOfCare>().Where(e => e.Type[0].Coding[0].Code == "family-doctor-contract").ToList();
            var active = contracts.Where(c => c.Status == EpisodeOfCare.EpisodeOfCareStatus.Active).ToList();
            Assert.InRange(active.Count, 0, 1);
            foreach (var contract in contracts)
            {
                var team = teams[contract.Team[0].Reference["CareTeam/".Length..]];
                Assert.Equal($"Practitioner/{team.GpId}", contract.CareManager.Reference); // the team's GP leader
                Assert.Equal(station, $"Organization/{team.StationId}");                  // of a team at the resident's station
                Assert.Equal(station, contract.ManagingOrganization.Reference);
                Assert.True(DateOnly.Parse(contract.Period.End) < DateOnly.Parse(contract.Period.Start).AddYears(1));
            }
            if (active.Count == 1) contracted++;
            if (resources.OfType<Condition>().Any()) chronic++;
            var age = Residents.DefaultAsOf.Year - DateOnly.Parse(patient.BirthDate).Year;
            if (age >= 18) { adults++; if (resources.OfType<Condition>().Any(c => c.Code.Coding[0].Code == "59621000")) hypertensive++; }
            foreach (var task in resources.OfType<Hl7.Fhir.Model.Task>()) states.Add(task.Status!.Value.ToString());
        }
        Assert.InRange(contracted / 2000.0, 0.33, 0.45);
        Assert.InRange(hypertensive / (double)adults, 0.20, 0.34);
        Assert.InRange(chronic / 2000.0, 0.15, 0.40);
        Assert.Equal(6, states.Count); // requested, accepted, in-progress, completed, rejected, cancelled
    }

    [Fact]
    public async System.Threading.Tasks.Task A_seed_through_the_importer_stores_everything_and_again_changes_nothing()
    {
        var seeder = new Seeder(server.Services.GetRequiredService<FhirPipeline>());
        var report = await seeder.LoadDirectory(Directory, _ => { }, CancellationToken.None);
        Assert.Empty(report.Failures);
        var accounts = await SeedAccounts.Register(server.Services, Directory, 1, CancellationToken.None);
        Assert.All(accounts, a => Assert.True(a.Created));
        var generator = new Residents(Directory, 1, Residents.DefaultAsOf);
        report = await seeder.LoadResidents(generator, 20, 2, validate: true, _ => { }, CancellationToken.None);
        Assert.True(report.Failures.Count == 0, string.Join("\n", report.Failures.Select(f => f.Message)));
        var expected = Directory.Resources.Concat(Enumerable.Range(1, 20).SelectMany(generator.Generate)).GroupBy(r => r.TypeName).ToDictionary(g => g.Key, g => g.Count());
        var client = server.CreateClient();
        foreach (var (type, count) in expected)
            Assert.True(count == (await (await client.GetAsync($"/fhir/{type}?_count=0&_total=accurate")).ReadJson())["total"]!.GetValue<int>(), type);

        // Again: the same ids are updated in place, the accounts are found, and a station's client works.
        Assert.Empty((await seeder.LoadResidents(generator, 20, 2, validate: true, _ => { }, CancellationToken.None)).Failures);
        Assert.All(await SeedAccounts.Register(server.Services, Directory, 1, CancellationToken.None), a => Assert.False(a.Created));
        Assert.Equal(20, (await (await client.GetAsync("/fhir/Patient?_count=0&_total=accurate")).ReadJson())["total"]!.GetValue<int>());
        var token = await server.Token("station-01-emr", SeedAccounts.Secret(1, "station-01-emr"));
        Assert.False(string.IsNullOrEmpty(token));
    }
}
