using System.Net;
using Hl7.Fhir.Model;
using Interop.Fhir.Storage;
using Interop.Tests.Infrastructure;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using static Interop.Tests.Workflows.IndicatorData;
using Status = Hl7.Fhir.Model.EpisodeOfCare.EpisodeOfCareStatus;

namespace Interop.Tests.Workflows;

/// <summary>
/// The indicators read narrow facts derived on write (Storage/MeasureFacts): updates, deletes and transaction bundles
/// must change the counts as they change the resources, and reindex must rebuild the facts from the stored resources.
/// </summary>
public sealed partial class IndicatorTests
{
    private const string Year = "periodStart=2025-01-01&periodEnd=2025-12-31";

    [Fact]
    public async Task Updates_deletes_and_transactions_change_the_counts()
    {
        var (_, station) = await data.Institutions();
        var (_, elsewhere) = await data.Institutions();
        var r = await data.Residents(station, 3);
        var contract = await data.Contract(r[0], Status.Finished, "2025-01-01", "2025-12-31");
        await data.Encounter(r[0], "2025-03-02T09:00:00Z", station);
        var cancelled = await data.Encounter(r[1], "2025-04-02T09:00:00Z", station);
        var deleted = await data.Encounter(r[2], "2025-05-02T09:00:00Z", station);
        Assert.Equal((3, 1), Proportion(await data.Evaluate("contracted-share", $"{Year}&reporter=Organization/{station}"), "contracted"));
        Assert.Equal((3, 3), Proportion(await data.Evaluate("care-inside-group", $"{Year}&reporter=Organization/{station}"), "inside"));

        // the contract was cancelled after all; an encounter did not happen, another is deleted; a resident moves away
        await Update<EpisodeOfCare>("EpisodeOfCare", contract, e => e.Status = Status.Cancelled);
        await Update<Encounter>("Encounter", cancelled, e => e.Status = Encounter.EncounterStatus.Cancelled);
        Assert.Equal(HttpStatusCode.NoContent, (await data.Admin.DeleteAsync($"/fhir/Encounter/{deleted}")).StatusCode);
        await Update<Patient>("Patient", r[0], p => p.ManagingOrganization = GroupWorld.Ref("Organization", elsewhere));
        Assert.Equal((2, 0), Proportion(await data.Evaluate("contracted-share", $"{Year}&reporter=Organization/{station}"), "contracted"));
        Assert.Equal((0, 0), Proportion(await data.Evaluate("care-inside-group", $"{Year}&reporter=Organization/{station}"), "inside"));
        // the moved resident's encounter counts where the resident now lives
        var there = Group(await data.Evaluate("care-inside-group", $"{Year}&reporter=Organization/{elsewhere}"), "inside");
        Assert.Equal((1, 1), (Count(there, "denominator"), Count(there, "numerator")));

        // a deleted resident is no resident
        Assert.Equal(HttpStatusCode.NoContent, (await data.Admin.DeleteAsync($"/fhir/Patient/{r[2]}")).StatusCode);
        Assert.Equal((1, 0), Proportion(await data.Evaluate("contracted-share", $"{Year}&reporter=Organization/{station}"), "contracted"));

        // a transaction bundle: a resident, its contract and an encounter outside the group, in one go
        var patient = new Patient { Name = [new HumanName { Family = "Bundled" }], ManagingOrganization = GroupWorld.Ref("Organization", station) };
        var episode = world.Contract("x", world.Gp1, world.Team1, start: "2025-02-01", end: "2025-11-30");
        episode.Patient = new ResourceReference("urn:uuid:11111111-1111-1111-1111-111111111111");
        var encounter = new Encounter
        {
            Status = Encounter.EncounterStatus.Finished, Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"),
            Subject = new ResourceReference("urn:uuid:11111111-1111-1111-1111-111111111111"), Period = new Period { Start = "2025-06-01T09:00:00Z", End = "2025-06-01T10:00:00Z" },
        };
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = "urn:uuid:11111111-1111-1111-1111-111111111111", Resource = patient, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Patient" } });
        bundle.Entry.Add(new Bundle.EntryComponent { Resource = episode, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "EpisodeOfCare" } });
        bundle.Entry.Add(new Bundle.EntryComponent { Resource = encounter, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Encounter" } });
        var response = await data.Admin.PostAsync("/fhir", FhirTest.Body(bundle));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal((2, 1), Proportion(await data.Evaluate("contracted-share", $"{Year}&reporter=Organization/{station}"), "contracted"));
        var care = await data.Evaluate("care-inside-group", $"{Year}&reporter=Organization/{station}");
        Assert.Equal((1, 1), (Count(Group(care, "outside"), "denominator"), Count(Group(care, "outside"), "numerator")));
        Assert.Equal(["none"], Strata(Group(care, "outside"), "provider").Keys);
    }

    [Fact]
    public async Task Reindex_rebuilds_the_facts()
    {
        const string dm = "44054006";
        var (_, station) = await data.Institutions();
        var r = await data.Residents(station, 2);
        await data.Contract(r[0], Status.Active, "2025-01-01", "2025-12-31");
        await data.Encounter(r[1], "2025-03-02T09:00:00Z", station);
        await data.CaseManagement(r[1], station, dm, "2025-02-01", null, Status.Active);
        async Task<(int, int, int, int)> Counts()
        {
            var contracted = Group(await data.Evaluate("contracted-share", $"{Year}&reporter=Organization/{station}"), "contracted");
            var inside = Group(await data.Evaluate("care-inside-group", $"{Year}&reporter=Organization/{station}"), "inside");
            var managed = Group(await data.Evaluate("case-management", $"{Year}&reporter=Organization/{station}"), "managed");
            return (Count(contracted, "denominator"), Count(contracted, "numerator"), Count(inside, "numerator"), Count(managed, "initial-population"));
        }
        Assert.Equal((2, 1, 1, 1), await Counts());

        // facts lost (as in a database migrated while an older server wrote): reindex derives them again
        var db = world.Server.Services.GetRequiredService<NpgsqlDataSource>();
        await using (var wipe = db.CreateCommand(string.Join(";", MeasureFacts.Tables.Select(t => $"delete from fhir.{t}"))))
            await wipe.ExecuteNonQueryAsync();
        Assert.Equal((0, 0, 0, 0), await Counts());
        await world.Server.Services.GetRequiredService<Reindexer>().Run(500, _ => { }, CancellationToken.None);
        Assert.Equal((2, 1, 1, 1), await Counts());
    }

    [Fact]
    public async Task The_facts_written_on_write_are_those_migration_9_derives_from_the_index()
    {
        var (_, station) = await data.Institutions();
        var r = await data.Residents(station, 2);
        await data.Contract(r[0], Status.Finished, "2025-01-01", "2025-12-31");
        await data.Encounter(r[0], "2025-03-02T09:00:00Z", station);
        await data.Encounter(r[1], "2025-03-03T09:00:00Z", null);
        await data.Encounter(r[1], "2025-03-04T09:00:00Z", station, Encounter.EncounterStatus.Planned);
        await data.CaseManagement(r[1], station, "59621000", "2025-02-01", null, Status.Active);
        await data.Admin.CreateId(new Patient { Name = [new HumanName { Family = "Unmanaged" }] });

        // In one transaction, rolled back: the facts as written, then as migration 9 fills them from the index rows.
        var db = world.Server.Services.GetRequiredService<NpgsqlDataSource>();
        await using var connection = await db.OpenConnectionAsync();
        await using var tx = await connection.BeginTransactionAsync();
        async Task<List<string>> Rows(string table)
        {
            await using var cmd = new NpgsqlCommand($"select t::text from fhir.{table} t order by 1", connection, tx);
            var rows = new List<string>();
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) rows.Add(reader.GetString(0));
            return rows;
        }
        var written = new List<List<string>>();
        foreach (var table in MeasureFacts.Tables) written.Add(await Rows(table));
        Assert.All(written, rows => Assert.NotEmpty(rows));
        await using (var rebuild = new NpgsqlCommand(string.Join(";", MeasureFacts.Tables.Select(t => $"delete from fhir.{t}")) + ";" + MeasureFacts.Ddl, connection, tx))
            await rebuild.ExecuteNonQueryAsync();
        for (var i = 0; i < MeasureFacts.Tables.Length; i++) Assert.Equal(written[i], await Rows(MeasureFacts.Tables[i]));
        await tx.RollbackAsync();
    }

    private static (int Denominator, int Numerator) Proportion(System.Text.Json.Nodes.JsonObject report, string group) =>
        (Count(Group(report, group), "denominator"), Count(Group(report, group), "numerator"));

    // Reads a resource, changes it and puts it back; asserts 200.
    private async Task Update<T>(string type, string id, Action<T> change) where T : Resource
    {
        var resource = await (await data.Admin.GetAsync($"/fhir/{type}/{id}")).ReadResource<T>();
        change(resource);
        var response = await data.Admin.PutAsync($"/fhir/{type}/{id}", FhirTest.Body(resource));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }
}
